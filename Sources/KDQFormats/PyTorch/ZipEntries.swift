import CArchive
import KDQTensor

/// The members of a zip file, read through libarchive from the memory-mapped file. Stored
/// (uncompressed) members come back as views into the mapping when libarchive hands out the
/// whole member in one block that lies inside it, which it does for torch.save's stored
/// entries; compressed members are inflated into owned memory.
enum ZipEntries {
    static func read(file: MappedFile, path: String) throws -> [String: Storage] {
        guard let archive = archive_read_new() else { throw FormatError(.io, "libarchive could not allocate a reader", path: path) }
        defer { archive_read_free(archive) }
        archive_read_support_format_zip_seekable(archive)  // reads the central directory, as torch.load does
        guard let base = file.bytes.baseAddress,
              archive_read_open_memory(archive, base, file.bytes.count) == ARCHIVE_OK else {
            throw libarchiveError(archive, "cannot open as zip", path: path)
        }
        // A member may not inflate to more than this: a guard against zip bombs.
        let limit = file.bytes.count.multipliedReportingOverflow(by: 8).partialValue + (1 << 20)
        var members: [String: Storage] = [:]
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(archive, &entry)
            if status == ARCHIVE_EOF { break }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
                throw libarchiveError(archive, "cannot read the next zip member", path: path)
            }
            let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
            if name.hasSuffix("/") { continue }  // a directory entry
            members[name] = try readData(archive, file: file, member: name, limit: limit, path: path)
        }
        guard !members.isEmpty else { throw FormatError(.badHeader, "zip file has no members", path: path) }
        return members
    }

    /// One member's bytes. Blocks inside the mapping are stable and kept as views; any other
    /// block lives in libarchive's reusable buffer and is copied before the next call.
    private static func readData(_ archive: OpaquePointer, file: MappedFile, member: String, limit: Int, path: String) throws -> Storage {
        let mapping = file.bytes
        var inPlace: Range<Int>?
        var copied: [(offset: Int, bytes: [UInt8])] = []
        var total = 0
        var block: UnsafeRawPointer?
        var size = 0
        var offset: Int64 = 0
        while true {
            let status = archive_read_data_block(archive, &block, &size, &offset)
            if status == ARCHIVE_EOF { break }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN else {
                throw libarchiveError(archive, "cannot read zip member '\(member)'", path: path)
            }
            guard let block, size > 0 else { continue }
            let end = Int(offset) + size
            guard offset >= 0, end <= limit else {
                throw FormatError(.outOfBounds, "zip member '\(member)' inflates past \(limit) bytes", path: path)
            }
            total = Swift.max(total, end)
            if offset == 0, copied.isEmpty, inPlace == nil, let base = mapping.baseAddress,
               block >= base, block + size <= base + mapping.count {
                inPlace = (block - base)..<(block - base + size)
            } else {
                if let r = inPlace { copied.append((0, Array(mapping[r]))); inPlace = nil }
                copied.append((Int(offset), Array(UnsafeRawBufferPointer(start: block, count: size))))
            }
        }
        if let inPlace, inPlace.count == total { return try Storage(file: file, range: inPlace) }
        return Storage(count: total) { out in
            out.initializeMemory(as: UInt8.self, repeating: 0)
            for b in copied { b.bytes.withUnsafeBytes { (out.baseAddress! + b.offset).copyMemory(from: $0.baseAddress!, byteCount: b.bytes.count) } }
        }
    }

    private static func libarchiveError(_ archive: OpaquePointer, _ what: String, path: String) -> FormatError {
        let reason = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        return FormatError(.badHeader, "\(what): \(reason)", path: path)
    }
}
