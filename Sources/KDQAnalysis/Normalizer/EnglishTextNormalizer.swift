import Foundation

/// openai-whisper's `EnglishTextNormalizer`, the text form WER is computed on: lower case;
/// bracketed and parenthesized text, fillers (hmm, uh, um…) and symbols removed; contractions
/// and titles spelled out; numbers and currencies as digits; British spellings American.
public struct EnglishTextNormalizer: Sendable {
    public init() {}

    static let brackets = RegexReplace(#"[<\[][^>\]]*[>\]]"#)
    static let parentheses = RegexReplace(#"\(([^)]+?)\)"#)
    static let fillers = RegexReplace(#"\b(hmm|mm|mhm|mmm|uh|um)\b"#)
    static let spaceBeforeApostrophe = RegexReplace(#"\s+'"#, "'")
    static let replacers: [RegexReplace] = [
        (#"\bwon't\b"#, "will not"), (#"\bcan't\b"#, "can not"), (#"\blet's\b"#, "let us"), (#"\bain't\b"#, "aint"),
        (#"\by'all\b"#, "you all"), (#"\bwanna\b"#, "want to"), (#"\bkinda\b"#, "kind of"), (#"\bsorta\b"#, "sort of"),
        (#"\bdunno\b"#, "do not know"), (#"\bgotta\b"#, "got to"), (#"\bgonna\b"#, "going to"), (#"\bi'ma\b"#, "i am going to"),
        (#"\bimma\b"#, "i am going to"), (#"\bwoulda\b"#, "would have"), (#"\bcoulda\b"#, "could have"),
        (#"\bshoulda\b"#, "should have"), (#"\bcause\b"#, "because"), (#"\bma'am\b"#, "madam"),
        (#"\bmr\b"#, "mister "), (#"\bmrs\b"#, "missus "), (#"\bst\b"#, "saint "), (#"\bdr\b"#, "doctor "),
        (#"\bprof\b"#, "professor "), (#"\bcapt\b"#, "captain "), (#"\bgov\b"#, "governor "), (#"\bald\b"#, "alderman "),
        (#"\bgen\b"#, "general "), (#"\bsen\b"#, "senator "), (#"\brep\b"#, "representative "), (#"\bpres\b"#, "president "),
        (#"\brev\b"#, "reverend "), (#"\bhon\b"#, "honorable "), (#"\basst\b"#, "assistant "), (#"\bassoc\b"#, "associate "),
        (#"\blt\b"#, "lieutenant "), (#"\bcol\b"#, "colonel "), (#"\bjr\b"#, "junior "), (#"\bsr\b"#, "senior "),
        (#"\besq\b"#, "esquire "), (#"'d been\b"#, " had been"), (#"'s been\b"#, " has been"), (#"'d gone\b"#, " had gone"),
        (#"'s gone\b"#, " has gone"), (#"'d done\b"#, " had done"), (#"'s got\b"#, " has got"), (#"n't\b"#, " not"),
        (#"'re\b"#, " are"), (#"'s\b"#, " is"), (#"'d\b"#, " would"), (#"'ll\b"#, " will"), (#"'t\b"#, " not"),
        (#"'ve\b"#, " have"), (#"'m\b"#, " am"),
    ].map { RegexReplace($0.0, $0.1) }
    static let digitCommas = RegexReplace(#"(\d),(\d)"#, "$1$2")
    static let periods = RegexReplace(#"\.([^0-9]|$)"#, " $1")
    static let strayCurrency = RegexReplace(#"[.$¢€£]([^0-9])"#, " $1")
    static let strayPercent = RegexReplace(#"([^0-9])%"#, "$1 ")
    static let spaces = RegexReplace(#"\s+"#, " ")
    static let numbers = EnglishNumberNormalizer()
    static let spellings: [String: String] = {
        var map: [String: String] = [:]
        for line in EnglishSpellingTable.pairs.split(separator: "\n") {
            let pair = line.split(separator: "\t", maxSplits: 1)
            if pair.count == 2 { map[String(pair[0])] = String(pair[1]) }
        }
        return map
    }()

    /// The normalized text.
    public func callAsFunction(_ text: String) -> String {
        var s = text.lowercased()
        s = Self.brackets.apply(s)
        s = Self.parentheses.apply(s)
        s = Self.fillers.apply(s)
        s = Self.spaceBeforeApostrophe.apply(s)
        for r in Self.replacers { s = r.apply(s) }
        s = Self.digitCommas.apply(s)
        s = Self.periods.apply(s)
        s = SymbolRemoval.removeSymbolsAndDiacritics(s, keep: [".", "%", "$", "¢", "€", "£"])
        s = Self.numbers(s)
        s = s.split(whereSeparator: { $0.isWhitespace }).map { Self.spellings[String($0)] ?? String($0) }.joined(separator: " ")
        s = Self.strayCurrency.apply(s)
        s = Self.strayPercent.apply(s)
        return Self.spaces.apply(s)
    }
}
