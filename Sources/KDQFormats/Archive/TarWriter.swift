import CArchive
import KDQTensor
#if canImport(Glibc)
import Glibc
#endif

/// Writes a POSIX (pax) tar through libarchive straight to a file descriptor, unbuffered, so
/// that the bytes written so far are known exactly: the writer keeps the running archive
/// digest (formats/kdq.md), which `sealDigest()` finishes before the last member is added.
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

    /// Adds a regular file member holding `bytes`. With `dataDigest` (the SHA-256 of
    /// `bytes`, hex), the archive digest takes those 32 bytes in place of the data.
    func add(_ name: String, _ bytes: UnsafeRawBufferPointer, dataDigest: String? = nil) throws {
        guard let entry = archive_entry_new() else { throw FormatError(.io, "libarchive could not allocate an entry", path: path) }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_size(entry, Int64(bytes.count))
        archive_entry_set_filetype(entry, 0o100000)  // AE_IFREG
        archive_entry_set_perm(entry, 0o644)
        archive_entry_set_mtime(entry, mtime, 0)
        guard archive_write_header(archive, entry) == ARCHIVE_OK else { throw error("cannot write the header of '\(name)'") }
        if let dataDigest {
            sink.digestStandIn(hexBytes(dataDigest))
            sink.skippedRegion = bytes
        }
        defer { sink.skippedRegion = nil }
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

    /// The write callback's target: a file descriptor plus the running archive digest.
    /// While a member whose data digest is known is written, its data (inside
    /// `skippedRegion`) is not hashed again: the digest takes that member's SHA-256 instead.
    final class Sink {
        let fd: Int32
        var written = 0
        var failure: String?
        var skippedRegion: UnsafeRawBufferPointer?
        private var hasher: SHA256Hasher? = SHA256Hasher()

        init(fd: Int32) { self.fd = fd }

        /// Feeds bytes that stand for a member's data (its SHA-256) into the digest.
        func digestStandIn(_ bytes: [UInt8]) { bytes.withUnsafeBytes { hasher?.update($0) } }

        func write(_ buffer: UnsafeRawPointer, _ length: Int) -> Int {
            let chunk = UnsafeRawBufferPointer(start: buffer, count: length)
            let skipped = skippedRegion.map { r in r.baseAddress.map { buffer >= $0 && buffer + length <= $0 + r.count } ?? false } ?? false
            if !skipped { hasher?.update(chunk) }
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

        /// Finishes the digest.
        func sealDigest() -> String {
            let digest = hasher?.finalizeHex() ?? ""
            hasher = nil
            return digest
        }
    }
}

/// The 32 raw bytes of a hex SHA-256.
func hexBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8).map { $0 <= 0x39 ? $0 - 0x30 : ($0 | 0x20) - 0x61 + 10 }
    return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}
