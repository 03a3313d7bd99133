import CArchive
import KDQTensor
#if canImport(Glibc)
import Glibc
#endif

/// Writes a POSIX (pax) tar through libarchive straight to a file descriptor, unbuffered, so
/// that the bytes written so far are known exactly: the writer keeps a running SHA-256 of the
/// stream, which `sealDigest()` finishes before the last member is added.
final class TarWriter {
    private let archive: OpaquePointer
    private let sink: Sink
    private let mtime: Int
    private let path: String

    /// Bytes written so far.
    var bytesWritten: Int { sink.written }

    init(fd: Int32, path: String, mtime: Int) throws {
        guard let a = archive_write_new() else { throw FormatError(.io, "libarchive could not allocate a writer", path: path) }
        archive = a
        sink = Sink(fd: fd)
        self.mtime = mtime
        self.path = path
        archive_write_set_format_pax_restricted(a)
        archive_write_set_bytes_per_block(a, 0)  // unbuffered: every byte reaches the sink at once
        archive_write_set_bytes_in_last_block(a, 1)
        let opened = archive_write_open2(a, Unmanaged.passUnretained(sink).toOpaque(), nil, { _, context, buffer, length in
            guard let context, let buffer else { return -1 }
            return Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue().write(buffer, length)
        }, nil, nil)
        guard opened == ARCHIVE_OK else { throw error("cannot start the tar stream") }
    }

    deinit { archive_write_free(archive) }

    /// Adds a regular file member holding `bytes`.
    func add(_ name: String, _ bytes: UnsafeRawBufferPointer) throws {
        guard let entry = archive_entry_new() else { throw FormatError(.io, "libarchive could not allocate an entry", path: path) }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_size(entry, Int64(bytes.count))
        archive_entry_set_filetype(entry, 0o100000)  // AE_IFREG
        archive_entry_set_perm(entry, 0o644)
        archive_entry_set_mtime(entry, mtime, 0)
        guard archive_write_header(archive, entry) == ARCHIVE_OK else { throw error("cannot write the header of '\(name)'") }
        var offset = 0
        let chunk = 8 << 20
        while offset < bytes.count {
            let n = Swift.min(chunk, bytes.count - offset)
            let written = archive_write_data(archive, bytes.baseAddress! + offset, n)
            guard written == n else { throw error("cannot write '\(name)'") }
            offset += n
        }
        // Writes the member's padding now, so that the byte count and digest are exact.
        guard archive_write_finish_entry(archive) == ARCHIVE_OK else { throw error("cannot finish '\(name)'") }
    }

    /// Finishes the running SHA-256 over everything written so far (hex).
    func sealDigest() -> String { sink.sealDigest() }

    /// Writes the end-of-archive blocks.
    func finish() throws {
        guard archive_write_close(archive) == ARCHIVE_OK else { throw error("cannot finish the tar stream") }
        if let failure = sink.failure { throw FormatError(.io, "write failed: \(failure)", path: path) }
    }

    private func error(_ what: String) -> FormatError {
        if let failure = sink.failure { return FormatError(.io, "\(what): \(failure)", path: path) }
        let reason = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        return FormatError(.io, "\(what): \(reason)", path: path)
    }

    /// The write callback's target: a file descriptor plus a running hash.
    final class Sink {
        let fd: Int32
        var written = 0
        var failure: String?
        private var hasher: SHA256Hasher? = SHA256Hasher()

        init(fd: Int32) { self.fd = fd }

        func write(_ buffer: UnsafeRawPointer, _ length: Int) -> Int {
            hasher?.update(UnsafeRawBufferPointer(start: buffer, count: length))
            var done = 0
            while done < length {
                let n = Glibc.write(fd, buffer + done, length - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return -1
                }
                done += n
            }
            written += length
            return length
        }

        func sealDigest() -> String {
            let digest = hasher?.finalizeHex() ?? ""
            hasher = nil
            return digest
        }
    }
}
