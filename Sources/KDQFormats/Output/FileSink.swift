import KDQTensor
#if canImport(Glibc)
import Glibc
#endif

/// A buffered, checked writer to a new file. `close()` flushes and syncs; any failure is a
/// `FormatError` naming the file.
final class FileSink {
    let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private let capacity = 1 << 20
    private var closed = false

    init(creating path: String) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FormatError(.io, "cannot create: \(String(cString: strerror(errno)))", path: path) }
        self.path = path
        buffer.reserveCapacity(capacity)
    }

    deinit { if !closed { Glibc.close(fd) } }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > capacity { try flush() }
        if bytes.count >= capacity { try writeAll(bytes); return }
        buffer.append(contentsOf: bytes)
    }

    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    func write<T: FixedWidthInteger>(le value: T) throws { try withUnsafeBytes(of: value.littleEndian) { try write($0) } }

    func write(_ string: String) throws { try write(Array(string.utf8)) }

    func flush() throws {
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        closed = true
        let synced = fsync(fd) == 0
        let ok = Glibc.close(fd) == 0
        guard synced, ok else { throw FormatError(.io, "cannot flush: \(String(cString: strerror(errno)))", path: path) }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FormatError(.io, "write failed: \(String(cString: strerror(errno)))", path: path)
            }
            done += n
        }
    }
}
