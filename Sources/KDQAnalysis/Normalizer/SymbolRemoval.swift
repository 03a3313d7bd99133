import Foundation

/// openai-whisper's `remove_symbols_and_diacritics`: after NFKD, marks of category Mn are
/// dropped, a few letters are spelled out (ø → o, æ → ae, ß → ss…), and every other mark,
/// symbol and punctuation character becomes a space, except those in `keep`.
enum SymbolRemoval {
    static let additionalDiacritics: [Unicode.Scalar: String] = [
        "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "ẞ": "SS",
        "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "th", "ł": "l", "Ł": "L",
    ]

    static func removeSymbolsAndDiacritics(_ s: String, keep: Set<Unicode.Scalar>) -> String {
        var out = String.UnicodeScalarView()
        for c in s.decomposedStringWithCompatibilityMapping.unicodeScalars {
            if keep.contains(c) { out.append(c); continue }
            if let replacement = additionalDiacritics[c] { out.append(contentsOf: replacement.unicodeScalars); continue }
            switch c.properties.generalCategory {
            case .nonspacingMark: continue
            case .spacingMark, .enclosingMark,
                 .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol,
                 .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
                 .initialPunctuation, .finalPunctuation, .otherPunctuation:
                out.append(" ")
            default: out.append(c)
            }
        }
        return String(out)
    }
}
