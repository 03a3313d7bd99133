import CArchive
import KDQTensor

/// Whole-buffer compression through libarchive's raw format: zstd for the archive members
/// that need not be memory-mapped (tokenizer material), and decompression of any stream
/// libarchive knows (the zstd or xz forms of a whole archive).
enum CompressedStream {
    static func compress(_ bytes: [UInt8]) throws -> [UInt8] {
        guard let a = archive_write_new() else { throw FormatError(.io, "libarchive could not allocate a writer") }
        defer { archive_write_free(a) }
        archive_write_set_format_raw(a)
        archive_write_add_filter_zstd(a)
        archive_write_set_bytes_in_last_block(a, 1)
        var capacity = bytes.count + 65536
        var out = [UInt8](repeating: 0, count: capacity)
        var used = 0
        let status = out.withUnsafeMutableBytes { buffer -> Int32 in
            guard archive_write_open_memory(a, buffer.baseAddress, capacity, &used) == ARCHIVE_OK, let entry = archive_entry_new() else { return ARCHIVE_FATAL }
            defer { archive_entry_free(entry) }
            archive_entry_set_filetype(entry, 0o100000)
            archive_entry_set_size(entry, Int64(bytes.count))
            guard archive_write_header(a, entry) == ARCHIVE_OK else { return ARCHIVE_FATAL }
            let written = bytes.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
            guard written == bytes.count else { return ARCHIVE_FATAL }
            return archive_write_close(a)
        }
        guard status == ARCHIVE_OK else {
            throw FormatError(.io, "zstd compression failed: \(archive_error_string(a).map { String(cString: $0) } ?? "?")")
        }
        capacity = used
        return Array(out.prefix(capacity))
    }

    /// Decompresses a zstd, xz, gzip… stream, refusing output larger than `limit` bytes.
    static func decompress(_ bytes: UnsafeRawBufferPointer, limit: Int, path: String) throws -> [UInt8] {
        guard let a = archive_read_new() else { throw FormatError(.io, "libarchive could not allocate a reader", path: path) }
        defer { archive_read_free(a) }
        archive_read_support_filter_all(a)
        archive_read_support_format_raw(a)
        var entry: OpaquePointer?
        guard archive_read_open_memory(a, bytes.baseAddress, bytes.count) == ARCHIVE_OK,
              archive_read_next_header(a, &entry) == ARCHIVE_OK else {
            throw ArchiveMembers.libarchiveError(a, "cannot decompress", path: path)
        }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, $0.count) }
            if n == 0 { break }
            guard n > 0 else { throw ArchiveMembers.libarchiveError(a, "cannot decompress", path: path) }
            out += buffer[0..<n]
            guard out.count <= limit else { throw FormatError(.outOfBounds, "decompresses past \(limit) bytes", path: path) }
        }
        return out
    }
}
