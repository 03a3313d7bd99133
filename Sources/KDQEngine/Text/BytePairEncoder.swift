import KDQFormats

/// GPT-2 byte-level BPE encoding as openai-whisper does it (tiktoken's rule): split text into
/// pieces (GPT-2's pattern: contractions, letter runs, number runs, other symbols, each with an
/// optional leading space, and white space), spell each piece's bytes in byte-level symbols,
/// then merge adjacent symbols, the pair whose merged token has the lowest rank first. Whisper's
/// token ids are those ranks, so the vocabulary alone encodes — whichever file it came from.
/// (Hugging Face's tokenizer.json merges for the multilingual vocabulary encode some words
/// otherwise, e.g. " through" as " " + "through"; the model was trained on tiktoken's.)
public struct BytePairEncoder: Sendable {
    private let ids: [String: Int]
    /// The BPE tokens (ids below this) a pair may merge into; special tokens never form.
    private let mergeableCount: Int

    /// The encoder of a vocabulary (tokens in byte-level spelling, by id) whose first
    /// `bpeTokens` are the BPE tokens.
    public init(byteLevelVocabulary tokens: [[UInt8]], bpeTokens: Int) {
        var ids: [String: Int] = [:]
        for (id, t) in tokens.prefix(bpeTokens).enumerated() { ids[String(decoding: t, as: UTF8.self)] = id }
        self.ids = ids
        mergeableCount = bpeTokens
    }

    /// The rank of merging `a` and `b`, nil when they do not merge.
    private func rank(_ a: String, _ b: String) -> Int? {
        ids[a + b].flatMap { $0 < mergeableCount ? $0 : nil }
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
                if let r = rank(symbols[i], symbols[i + 1]), r < (best?.rank ?? Int.max) { best = (r, i) }
            }
            guard let (_, i) = best else { break }
            let (a, b) = (symbols[i], symbols[i + 1])
            // Merge every occurrence of this pair, left to right.
            var merged: [String] = []
            var j = 0
            while j < symbols.count {
                if j < symbols.count - 1 && symbols[j] == a && symbols[j + 1] == b {
                    merged.append(a + b)
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
