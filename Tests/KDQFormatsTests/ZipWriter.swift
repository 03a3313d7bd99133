import CArchive
import Foundation

/// Writes a zip file through libarchive (stored members), for hand-made torch checkpoints.
enum ZipWriter {
    static func write(_ path: String, members: [(String, [UInt8])]) throws {
        let a = archive_write_new()!
        defer { archive_write_free(a) }
        archive_write_set_format_zip(a)
        archive_write_set_options(a, "zip:compression=store")
        guard archive_write_open_filename(a, path) == ARCHIVE_OK else { throw CocoaError(.fileWriteUnknown) }
        for (name, bytes) in members {
            let e = archive_entry_new()!
            archive_entry_set_pathname(e, name)
            archive_entry_set_size(e, Int64(bytes.count))
            archive_entry_set_filetype(e, 0o100000)  // AE_IFREG
            archive_entry_set_perm(e, 0o644)
            archive_write_header(a, e)
            _ = bytes.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
            archive_entry_free(e)
        }
        archive_write_close(a)
    }
}
