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

    static func decode(_ bytes: UnsafeRawBufferPointer, count: Int, path: String) throws -> [[UInt8]] {
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
