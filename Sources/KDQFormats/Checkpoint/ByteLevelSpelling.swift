/// GPT-2's byte-level spelling (`bytes_to_unicode`): every byte maps to one printable code
/// point, so that BPE symbols are strings (`Ġthe` is " the"). Converts both ways.
public enum ByteLevelSpelling {
    /// The code point each byte is spelled with.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var extra: UInt32 = 0
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable { table[b] = UInt32(b) } else { table[b] = 256 + extra; extra += 1 }
        }
        return table
    }()

    static let scalarToByte: [UInt32: UInt8] = Dictionary(uniqueKeysWithValues: byteToScalar.enumerated().map { ($1, UInt8($0)) })

    /// The byte-level spelling (UTF-8) of raw token bytes.
    public static func spell(_ bytes: [UInt8]) -> [UInt8] {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(byteToScalar[Int(b)])!) }
        return Array(String(s).utf8)
    }

    /// The raw bytes of a byte-level spelled token, or nil if it holds a code point outside
    /// the mapping (special tokens such as `<|endoftext|>` map to themselves).
    public static func unspell(_ spelled: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        for scalar in String(decoding: spelled, as: UTF8.self).unicodeScalars {
            guard let b = scalarToByte[scalar.value] else { return nil }
            out.append(b)
        }
        return out
    }
}

extension TokenizerMaterial {
    /// The vocabulary as raw token bytes (converted from byte-level spelling if needed;
    /// tokens that are not byte-level spelled are kept as they are).
    public var rawVocabulary: [[UInt8]]? {
        guard let vocabulary else { return nil }
        guard spelling == .byteLevel else { return vocabulary }
        return vocabulary.map { ByteLevelSpelling.unspell($0) ?? $0 }
    }

    /// The vocabulary in byte-level spelling (converted from raw bytes if needed).
    public var byteLevelVocabulary: [[UInt8]]? {
        guard let vocabulary else { return nil }
        guard spelling == .bytes else { return vocabulary }
        return vocabulary.map { TokenizerMaterial.isSpecial($0) ? $0 : ByteLevelSpelling.spell($0) }
    }

    /// True for `<|…|>` tokens.
    static func isSpecial(_ bytes: [UInt8]) -> Bool {
        bytes.count > 4 && bytes.starts(with: [0x3C, 0x7C]) && bytes.suffix(2) == [0x7C, 0x3E]
    }
}
