/// The `tokenizer/vocabulary.bin` member: for each token in id order, a u32 LE byte length
/// and the token's bytes (whatever spelling the manifest names).
enum VocabularyCodec {
    static func encode(_ tokens: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(tokens.reduce(0) { $0 + 4 + $1.count })
        for t in tokens {
            withUnsafeBytes(of: UInt32(t.count).littleEndian) { out.append(contentsOf: $0) }
            out += t
        }
        return out
    }

    /// The `count` tokens of `bytes`; a count that is negative (or missing: -1) or larger than
    /// the member's bytes allow (4 a token at least) is refused before anything is read.
    static func decode(_ bytes: UnsafeRawBufferPointer, count: Int, path: String) throws -> [[UInt8]] {
        guard (0...(bytes.count / 4)).contains(count) else {
            throw FormatError(.badHeader, "the manifest's vocabulary count is \(count < 0 ? "missing or negative (\(count))" : "\(count)"), expected 0 to \(bytes.count / 4) for a member of \(bytes.count) bytes",
                              path: path, offset: 0)
        }
        var r = ByteReader(bytes, path: path)
        var tokens: [[UInt8]] = []
        for i in 0..<count {
            let n = Int(try r.u32("length of token \(i)"))
            tokens.append(try r.bytes(n, "token \(i)"))
        }
        guard r.isAtEnd else { throw FormatError(.badHeader, "\(r.remaining) bytes follow the last of \(count) tokens", path: path, offset: r.offset) }
        return tokens
    }
}
