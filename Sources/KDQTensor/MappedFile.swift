#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory. Tensors read from it keep it alive and view
/// their bytes in place, so opening a checkpoint does not copy its data.
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened from.
    public let path: String
    /// The mapped bytes (empty for an empty file).
    public let bytes: UnsafeRawBufferPointer
    private let mapping: UnsafeMutableRawPointer?

    /// Maps `path`; throws an `io` error that names the path and the system's reason.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw TensorError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw TensorError(.io, "cannot stat \(path): \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw TensorError(.io, "\(path) is not a regular file") }
        let size = Int(st.st_size)
        if size == 0 {
            mapping = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw TensorError(.io, "cannot map \(path): \(String(cString: strerror(errno)))")
        }
        _ = madvise(p, size, MADV_WILLNEED)
        mapping = p
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    /// The whole file as UTF-8 text (invalid sequences replaced). Unlike Foundation's readers
    /// it allocates nothing for an empty file (FoundationEssentials leaks 4 kB reading one).
    public static func text(_ path: String) throws -> String {
        let file = try MappedFile(path: path)
        return withExtendedLifetime(file) { String(decoding: file.bytes, as: UTF8.self) }
    }

    deinit {
        if let mapping { munmap(mapping, bytes.count) }
    }
}
