import Foundation

/// openai-whisper's `EnglishNumberNormalizer`: spelled-out numbers become digits (keeping
/// suffixes such as 1960s, 274th), currency words move in front of the number ($20), "one" and
/// "ones" stay words, successive single digits read as digits ("one oh one" → 101).
struct EnglishNumberNormalizer {
    /// A value being built: an integer, or digits kept as text (decimals, "one oh one").
    enum Value {
        case int(Int)
        case text(String)

        var string: String {
            switch self {
            case .int(let i): return String(i)
            case .text(let s): return s
            }
        }

        /// Python's `str(value or "")`: 0 and "" count as empty.
        static func orEmpty(_ v: Value?) -> String {
            guard let v else { return "" }
            if case .int(0) = v { return "" }
            return v.string
        }
    }

    let zeros: Set<String> = ["o", "oh", "zero"]
    let ones: [String: Int]
    let onesSuffixed: [String: (Int, String)]
    let tens: [String: Int]
    let tensSuffixed: [String: (Int, String)]
    let multipliers: [String: Int]
    let multipliersSuffixed: [String: (Int, String)]
    let decimals: Set<String>
    let precedingPrefixers = ["minus": "-", "negative": "-", "plus": "+", "positive": "+"]
    let followingPrefixers = ["pound": "£", "pounds": "£", "euro": "€", "euros": "€", "dollar": "$", "dollars": "$", "cent": "¢", "cents": "¢"]
    let prefixes: Set<Character>
    let specials: Set<String> = ["and", "double", "triple", "point"]
    let words: Set<String>

    init() {
        let names = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                     "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
        var ones: [String: Int] = [:]
        for (i, n) in names.enumerated() { ones[n] = i + 1 }
        var suffixed: [String: (Int, String)] = [:]
        for (n, v) in ones { suffixed[n == "six" ? "sixes" : n + "s"] = (v, "s") }
        for (n, v) in [("zeroth", 0), ("first", 1), ("second", 2), ("third", 3), ("fifth", 5), ("twelfth", 12)] {
            suffixed[n] = (v, ["first": "st", "second": "nd", "third": "rd"][n] ?? "th")
        }
        for (n, v) in ones where v > 3 && v != 5 && v != 12 { suffixed[n + (n.hasSuffix("t") ? "h" : "th")] = (v, "th") }
        let tens = ["twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90]
        var tensSuffixed: [String: (Int, String)] = [:]
        for (n, v) in tens {
            tensSuffixed[n.replacingOccurrences(of: "y", with: "ies")] = (v, "s")
            tensSuffixed[n.replacingOccurrences(of: "y", with: "ieth")] = (v, "th")
        }
        // Multipliers up to a quintillion fit in 64 bits; larger ones are left as words.
        let multipliers = ["hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
                           "trillion": 1_000_000_000_000, "quadrillion": 1_000_000_000_000_000, "quintillion": 1_000_000_000_000_000_000]
        var multipliersSuffixed: [String: (Int, String)] = [:]
        for (n, v) in multipliers {
            multipliersSuffixed[n + "s"] = (v, "s")
            multipliersSuffixed[n + "th"] = (v, "th")
        }
        self.ones = ones
        onesSuffixed = suffixed
        self.tens = tens
        self.tensSuffixed = tensSuffixed
        self.multipliers = multipliers
        self.multipliersSuffixed = multipliersSuffixed
        decimals = Set(ones.keys).union(tens.keys).union(["o", "oh", "zero"])
        prefixes = Set("-+£€$¢")
        words = Set(ones.keys).union(suffixed.keys).union(tens.keys).union(tensSuffixed.keys).union(multipliers.keys)
            .union(multipliersSuffixed.keys).union(precedingPrefixers.keys).union(followingPrefixers.keys)
            .union(["per", "percent"]).union(["and", "double", "triple", "point"]).union(["o", "oh", "zero"])
    }

    func callAsFunction(_ s: String) -> String {
        let words = preprocess(s).split(whereSeparator: { $0.isWhitespace }).map(String.init)
        return postprocess(processWords(words).joined(separator: " "))
    }

    static let numeric = RegexReplace(#"^\d+(\.\d+)?$"#)

    static func isNumeric(_ s: String?) -> Bool { s.map(numeric.matches) ?? false }

    /// An exact fraction of a decimal string ("12", "3.25", "7."), as Python's Fraction(str).
    static func fraction(_ s: String) -> (numerator: Int, denominator: Int)? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !(whole.isEmpty && (parts.count < 2 || parts[1].isEmpty)),
              whole.allSatisfy(\.isASCII), whole.allSatisfy(\.isNumber) else { return nil }
        let decimals = parts.count == 2 ? parts[1] : ""
        guard decimals.allSatisfy({ $0.isASCII && $0.isNumber }), decimals.count <= 18 else { return nil }
        guard let n = Int(String(whole) + decimals == "" ? "0" : String(whole) + decimals) else { return nil }
        var d = 1
        for _ in 0..<decimals.count { d *= 10 }
        return (n, d)
    }

    /// The words with number words folded, as openai-whisper's `process_words`.
    func processWords(_ words: [String]) -> [String] {
        var out: [String] = []
        var prefix: String?
        var value: Value?
        var skip = false
        func output(_ result: String) {
            out.append((prefix ?? "") + result)
            value = nil
            prefix = nil
        }
        func output(_ v: Value) { output(v.string) }
        for (index, current) in words.enumerated() {
            if skip { skip = false; continue }
            let prev = index > 0 ? words[index - 1] : nil
            let next = index + 1 < words.count ? words[index + 1] : nil
            let nextIsNumeric = Self.isNumeric(next)
            let hasPrefix = current.first.map { prefixes.contains($0) } ?? false
            let withoutPrefix = hasPrefix ? String(current.dropFirst()) : current
            if Self.isNumeric(withoutPrefix) {
                if let v = value {
                    if case .text(let t) = v, t.hasSuffix(".") {
                        value = .text(t + current)
                        continue
                    }
                    output(v)
                }
                prefix = hasPrefix ? String(current.first!) : prefix
                if let f = Self.fraction(withoutPrefix), f.denominator == 1 { value = .int(f.numerator) } else { value = .text(withoutPrefix) }
            } else if !self.words.contains(current) {
                if let v = value { output(v) }
                output(current)
            } else if zeros.contains(current) {
                value = .text(Value.orEmpty(value) + "0")
            } else if let o = ones[current] {
                value = combineOnes(value, o, prev: prev)
            } else if let (o, suffix) = onesSuffixed[current] {
                if let v = value {
                    output(combineOnes(v, o, prev: prev).string + suffix)
                } else {
                    output(String(o) + suffix)
                }
                value = nil
            } else if let t = tens[current] {
                switch value {
                case nil: value = .int(t)
                case .text(let s)?: value = .text(s + String(t))
                case .int(let v)?: value = v % 100 == 0 ? .int(v + t) : .text(String(v) + String(t))
                }
            } else if let (t, suffix) = tensSuffixed[current] {
                switch value {
                case nil: output(String(t) + suffix)
                case .text(let s)?: output(s + String(t) + suffix)
                case .int(let v)?: output((v % 100 == 0 ? String(v + t) : String(v) + String(t)) + suffix)
                }
            } else if let m = multipliers[current] {
                switch value {
                case nil: value = .int(m)
                case .text(let s)?:
                    if let p = scaled(s, m) { value = .int(p) } else { output(.text(s)); value = .int(m) }
                case .int(0)?:
                    value = .int(0)
                case .int(let v)?:
                    value = multiply(v, m).map { .int($0) } ?? .text(String(v) + String(repeating: "0", count: String(m).count - 1))
                }
            } else if let (m, suffix) = multipliersSuffixed[current] {
                switch value {
                case nil: output(String(m) + suffix)
                case .text(let s)?:
                    if let p = scaled(s, m) { output(String(p) + suffix) } else { output(.text(s)); output(String(m) + suffix) }
                case .int(let v)?:
                    output((multiply(v, m).map(String.init) ?? String(v)) + suffix)
                }
                value = nil
            } else if let p = precedingPrefixers[current] {
                if let v = value { output(v) }
                if self.words.contains(next ?? "") || nextIsNumeric { prefix = p } else { output(current) }
            } else if let p = followingPrefixers[current] {
                if let v = value {
                    prefix = p
                    output(v)
                } else {
                    output(current)
                }
            } else if current == "per" || current == "percent" {
                if let v = value {
                    if current == "percent" {
                        output(v.string + "%")
                    } else if next == "cent" {
                        output(v.string + "%")
                        skip = true
                    } else {
                        output(v)
                        output(current)
                    }
                } else {
                    output(current)
                }
            } else if specials.contains(current) {
                if !self.words.contains(next ?? "") && !nextIsNumeric {
                    if let v = value { output(v) }
                    output(current)
                } else if current == "and" {
                    if !multipliers.keys.contains(prev ?? "") {
                        if let v = value { output(v) }
                        output(current)
                    }
                } else if current == "double" || current == "triple" {
                    if let n = next, ones[n] != nil || zeros.contains(n) {
                        let repeats = current == "double" ? 2 : 3
                        let digit = ones[n] ?? 0
                        value = .text(Value.orEmpty(value) + String(repeating: String(digit), count: repeats))
                        skip = true
                    } else {
                        if let v = value { output(v) }
                        output(current)
                    }
                } else if current == "point" {
                    if let n = next, decimals.contains(n) || nextIsNumeric { value = .text(Value.orEmpty(value) + ".") }
                }
            }
        }
        if let v = value { output(v) }
        return out
    }

    /// Adding a ones word (1–19) to the value built so far.
    private func combineOnes(_ value: Value?, _ o: Int, prev: String?) -> Value {
        guard let value else { return .int(o) }
        let prevIsOnes = prev.map { ones[$0] != nil } ?? false
        if case .text = value {} else if !prevIsOnes {
            guard case .int(let v) = value else { return value }
            if o < 10 { return v % 10 == 0 ? .int(v + o) : .text(String(v) + String(o)) }
            return v % 100 == 0 ? .int(v + o) : .text(String(v) + String(o))
        }
        let s = value.string
        if let p = prev, tens[p] != nil, o < 10, s.hasSuffix("0") { return .text(String(s.dropLast()) + String(o)) }
        return .text(s + String(o))
    }

    /// Python's `before + residual * multiplier` for an integer value, nil on overflow.
    private func multiply(_ v: Int, _ m: Int) -> Int? {
        let before = v / 1000 * 1000, residual = v % 1000
        let (p, o1) = residual.multipliedReportingOverflow(by: m)
        let (r, o2) = before.addingReportingOverflow(p)
        return o1 || o2 ? nil : r
    }

    /// Fraction(s) × m when that is a whole number.
    private func scaled(_ s: String, _ m: Int) -> Int? {
        guard let f = Self.fraction(s) else { return nil }
        let (p, overflow) = f.numerator.multipliedReportingOverflow(by: m)
        guard !overflow, p % f.denominator == 0 else { return nil }
        return p / f.denominator
    }

    static let andAHalf = RegexReplace(#"\band\s+a\s+half\b"#)
    static let preprocessRules = [RegexReplace(#"([a-z])([0-9])"#, "$1 $2"), RegexReplace(#"([0-9])([a-z])"#, "$1 $2"),
                                  RegexReplace(#"([0-9])\s+(st|nd|rd|th|s)\b"#, "$1$2")]

    func preprocess(_ s: String) -> String {
        // "and a half" after a number becomes "point five".
        let segments = Self.andAHalf.split(s)
        var results: [String] = []
        for (i, segment) in segments.enumerated() where !segment.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            results.append(segment)
            if i < segments.count - 1 {
                let lastWord = segment.split(whereSeparator: { $0.isWhitespace }).last.map(String.init) ?? ""
                results.append(decimals.contains(lastWord) || multipliers[lastWord] != nil ? "point five" : "and a half")
            }
        }
        var out = results.joined(separator: " ")
        for rule in Self.preprocessRules { out = rule.apply(out) }
        return out
    }

    static let combineCents = RegexReplace(#"([€£$])([0-9]+) (?:and )?¢([0-9]{1,2})\b"#)
    static let extractCents = RegexReplace(#"[€£$]0.([0-9]{1,2})\b"#)
    static let literalOne = RegexReplace(#"\b1(s?)\b"#, "one$1")

    func postprocess(_ s: String) -> String {
        var out = Self.combineCents.apply(s) { g in
            guard let cents = Int(g[3] ?? "") else { return g[0] ?? "" }
            return "\(g[1] ?? "")\(g[2] ?? "").\(cents < 10 ? "0" : "")\(cents)"
        }
        out = Self.extractCents.apply(out) { g in
            guard let cents = Int(g[1] ?? "") else { return g[0] ?? "" }
            return "¢\(cents)"
        }
        return Self.literalOne.apply(out)
    }
}
