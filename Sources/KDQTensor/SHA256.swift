import COpenSSL

/// SHA-256 through OpenSSL's EVP interface (which uses the CPU's SHA extensions where present).
public final class SHA256Hasher {
    private let context: OpaquePointer

    /// A fresh hasher.
    public init() {
        context = EVP_MD_CTX_new()
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Feeds `bytes`.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    /// The digest as lowercase hex; the hasher is spent afterwards.
    public func finalizeHex() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return digest.map { String(hexByte: $0) }.joined()
    }

    /// The hex SHA-256 of `bytes`.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        let h = SHA256Hasher()
        h.update(bytes)
        return h.finalizeHex()
    }
}

extension String {
    /// Two lowercase hex digits of a byte.
    public init(hexByte byte: UInt8) {
        let digits: [Character] = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}
