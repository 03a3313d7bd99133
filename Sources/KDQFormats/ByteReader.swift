import KDQTensor

/// A bounds-checked little-endian cursor over a file's bytes. Every read that would pass
/// the end throws a `truncated` error naming the path and offset.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var offset: Int

    init(_ bytes: UnsafeRawBufferPointer, path: String, offset: Int = 0) {
        self.bytes = bytes
        self.path = path
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset >= bytes.count }

    /// Fails unless `count` more bytes are available.
    func require(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count >= 0, count <= remaining else {
            throw FormatError(.truncated, "\(what()) needs \(count) bytes but only \(Swift.max(remaining, 0)) remain",
                              path: path, offset: offset)
        }
    }

    mutating func skip(_ count: Int, _ what: @autoclosure () -> String) throws {
        try require(count, what())
        offset += count
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try require(MemoryLayout<T>.size, what())
        let v = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return v
    }

    mutating func u8(_ what: @autoclosure () -> String) throws -> UInt8 { try read(UInt8.self, what()) }
    mutating func u16(_ what: @autoclosure () -> String) throws -> UInt16 { try read(UInt16.self, what()) }
    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 { try read(UInt32.self, what()) }
    mutating func i32(_ what: @autoclosure () -> String) throws -> Int32 { try read(Int32.self, what()) }
    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 { try read(UInt64.self, what()) }

    /// A non-negative i32 as `Int`.
    mutating func count32(_ what: @autoclosure () -> String) throws -> Int {
        let start = offset
        let v = try i32(what())
        guard v >= 0 else { throw FormatError(.badHeader, "\(what()) is negative (\(v))", path: path, offset: start) }
        return Int(v)
    }

    /// The next `count` bytes as a byte range of the file.
    mutating func range(_ count: Int, _ what: @autoclosure () -> String) throws -> Range<Int> {
        try require(count, what())
        defer { offset += count }
        return offset..<(offset + count)
    }

    /// The next `count` bytes as an array.
    mutating func bytes(_ count: Int, _ what: @autoclosure () -> String) throws -> [UInt8] {
        Array(bytes[try range(count, what())])
    }

    /// The next `count` bytes decoded as UTF-8 (invalid sequences replaced).
    mutating func string(_ count: Int, _ what: @autoclosure () -> String) throws -> String {
        String(decoding: bytes[try range(count, what())], as: UTF8.self)
    }
}
