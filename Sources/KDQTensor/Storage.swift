/// Read-only bytes of a tensor: either a view into a memory-mapped file or memory the
/// storage owns. Cheap to copy and to slice; the underlying memory lives as long as any view.
public struct Storage: @unchecked Sendable {
    /// The bytes.
    public let bytes: UnsafeRawBufferPointer
    /// Keeps the memory behind `bytes` alive (a `MappedFile` or an `OwnedBytes`).
    private let owner: AnyObject?

    /// True when the bytes are a view into a memory-mapped file.
    public var isMapped: Bool { owner is MappedFile }

    /// The number of bytes.
    public var count: Int { bytes.count }

    /// A view of `range` inside a mapped file. The range must lie inside the file.
    public init(file: MappedFile, range: Range<Int>) throws {
        guard range.lowerBound >= 0, range.upperBound <= file.bytes.count else {
            throw TensorError(.sizeMismatch, "byte range \(range) lies outside \(file.path) (\(file.bytes.count) bytes)")
        }
        self.bytes = UnsafeRawBufferPointer(rebasing: file.bytes[range])
        self.owner = file
    }

    /// Storage that owns a copy of `source`.
    public init<C: Collection>(copying source: C) where C.Element == UInt8 {
        let owned = OwnedBytes(count: source.count)
        owned.buffer.copyBytes(from: source)
        self.bytes = UnsafeRawBufferPointer(owned.buffer)
        self.owner = owned
    }

    /// Storage that owns the raw bytes of `values`.
    public init<T>(values: [T]) {
        self = values.withUnsafeBytes { Storage(copying: $0) }
    }

    /// Storage of `count` bytes filled by `fill`, which receives the whole writable buffer.
    public init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let owned = OwnedBytes(count: count)
        try fill(owned.buffer)
        self.bytes = UnsafeRawBufferPointer(owned.buffer)
        self.owner = owned
    }

    private init(bytes: UnsafeRawBufferPointer, owner: AnyObject?) {
        self.bytes = bytes
        self.owner = owner
    }

    /// A view of `range` of these bytes that shares the same owner.
    public func slice(_ range: Range<Int>) throws -> Storage {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw TensorError(.sizeMismatch, "slice \(range) lies outside storage of \(count) bytes")
        }
        return Storage(bytes: UnsafeRawBufferPointer(rebasing: bytes[range]), owner: owner)
    }

    /// The bytes as an array.
    public var array: [UInt8] { Array(bytes) }

    /// True when `other` holds the same bytes (false when there is none).
    public func hasSameBytes(as other: Storage?) -> Bool { other.map { bytes.elementsEqual($0.bytes) } ?? false }
}

/// Heap memory owned by a `Storage`, 64-byte aligned.
final class OwnedBytes {
    private let base: UnsafeMutableRawPointer
    let buffer: UnsafeMutableRawBufferPointer
    init(count: Int) {
        base = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1), alignment: 64)
        buffer = UnsafeMutableRawBufferPointer(start: base, count: count)
    }
    deinit { base.deallocate() }
}
