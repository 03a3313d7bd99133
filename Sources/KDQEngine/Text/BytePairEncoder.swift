import KDQFormats
import KDQJSON

/// GPT-2 byte-level BPE encoding, as Whisper's tokenizer does it: split text into pieces
/// (GPT-2's pattern: contractions, letter runs, number runs, other symbols, each with an
/// optional leading space, and white space), spell each piece's bytes in byte-level symbols,
/// then apply the merges in rank order.
public struct BytePairEncoder: Sendable {
    private let ranks: [Pair: Int]
    private let ids: [String: Int]

    struct Pair: Hashable, Sendable {
        let a: String
        let b: String
    }

    /// Reads `model.vocab` and `model.merges` of a tokenizer.json.
    public init(tokenizerJSON bytes: [UInt8]) throws {
        let json: JSONValue
        do { json = try JSONValue.parse(bytes) } catch { throw EngineError(.tokenizer, "tokenizer.json: \(error)") }
        guard let vocab = json["model"]?["vocab"]?.objectValue, let merges = json["model"]?["merges"]?.arrayValue else {
            throw EngineError(.tokenizer, "tokenizer.json has no model.vocab and model.merges")
        }
        var ids: [String: Int] = [:]
        for (token, id) in vocab.entries { if let id = id.intValue { ids[token] = id } }
        var ranks: [Pair: Int] = [:]
        for (rank, merge) in merges.enumerated() {
            let parts: [String]
            if let s = merge.stringValue { parts = s.split(separator: " ", maxSplits: 1).map(String.init) } else {
                parts = merge.arrayValue?.compactMap(\.stringValue) ?? []
            }
            guard parts.count == 2 else { throw EngineError(.tokenizer, "tokenizer.json merge \(rank) is not a pair") }
            ranks[Pair(a: parts[0], b: parts[1])] = rank
        }
        self.ids = ids
        self.ranks = ranks
    }

    /// The token ids of `text` (no special tokens).
    public func encode(_ text: String) throws -> [Int] {
        var out: [Int] = []
        for piece in Self.pieces(text) {
            let spelled = String(decoding: ByteLevelSpelling.spell(Array(piece.utf8)), as: UTF8.self)
            for symbol in merge(spelled.map { String($0) }) {
                guard let id = ids[symbol] else { throw EngineError(.tokenizer, "symbol '\(symbol)' is not in the vocabulary") }
                out.append(id)
            }
        }
        return out
    }

    /// Applies merges, lowest rank first, until none applies.
    private func merge(_ start: [String]) -> [String] {
        var symbols = start
        while symbols.count > 1 {
            var best: (rank: Int, index: Int)?
            for i in 0..<(symbols.count - 1) {
                if let r = ranks[Pair(a: symbols[i], b: symbols[i + 1])], r < (best?.rank ?? Int.max) { best = (r, i) }
            }
            guard let (_, i) = best else { break }
            let pair = Pair(a: symbols[i], b: symbols[i + 1])
            // Merge every occurrence of this pair, left to right.
            var merged: [String] = []
            var j = 0
            while j < symbols.count {
                if j < symbols.count - 1 && symbols[j] == pair.a && symbols[j + 1] == pair.b {
                    merged.append(pair.a + pair.b)
                    j += 2
                } else {
                    merged.append(symbols[j])
                    j += 1
                }
            }
            symbols = merged
        }
        return symbols
    }

    /// GPT-2's pre-tokenization: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    static func pieces(_ text: String) -> [String] {
        let chars = Array(text.unicodeScalars)
        var out: [String] = []
        var i = 0
        func isLetter(_ c: Unicode.Scalar) -> Bool {
            switch c.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
            default: return false
            }
        }
        func isNumber(_ c: Unicode.Scalar) -> Bool {
            switch c.properties.generalCategory {
            case .decimalNumber, .letterNumber, .otherNumber: return true
            default: return false
            }
        }
        func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }
        func run(from start: Int, _ accept: (Unicode.Scalar) -> Bool) -> Int {
            var j = start
            while j < chars.count && accept(chars[j]) { j += 1 }
            return j
        }
        let contractions = ["s", "t", "re", "ve", "m", "ll", "d"]
        while i < chars.count {
            let c = chars[i]
            if c == "'" {
                if let ending = contractions.first(where: { suffix in
                    let s = Array(suffix.unicodeScalars)
                    return i + 1 + s.count <= chars.count && Array(chars[(i + 1)..<(i + 1 + s.count)]) == s
                }) {
                    out.append("'" + ending)
                    i += 1 + ending.count
                    continue
                }
            }
            let body = c == " " && i + 1 < chars.count && !isSpace(chars[i + 1]) ? i + 1 : i
            let first = chars[body]
            var end: Int
            if isLetter(first) {
                end = run(from: body, isLetter)
            } else if isNumber(first) {
                end = run(from: body, isNumber)
            } else if !isSpace(first) {
                end = run(from: body) { !isSpace($0) && !isLetter($0) && !isNumber($0) }
            } else {
                // White space: a run, leaving its last character to the next piece when one follows.
                end = run(from: i, isSpace)
                if end < chars.count && end - i > 1 { end -= 1 }
            }
            var piece = String.UnicodeScalarView()
            piece.append(contentsOf: chars[i..<end])
            out.append(String(piece))
            i = end
        }
        return out
    }
}
