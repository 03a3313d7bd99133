import CArchive
import KDQTensor

/// The members of a zip or tar archive held in memory (usually a memory-mapped file), read
/// through libarchive. A member that libarchive hands out in one block lying inside that
/// memory (stored zip members, uncompressed tar members) becomes a zero-copy view of it;
/// anything else (compressed members) is copied out block by block, since libarchive reuses
/// its buffers between calls.
public enum ArchiveMembers {
    public enum Container { case zip, tar }

    /// Members by path, in archive order.
    public static func read(_ base: Storage, as container: Container, path: String) throws -> [(name: String, data: Storage)] {
        guard let archive = archive_read_new() else { throw FormatError(.io, "libarchive could not allocate a reader", path: path) }
        defer { archive_read_free(archive) }
        switch container {
        case .zip: archive_read_support_format_zip_seekable(archive)  // reads the central directory, as torch.load does
        case .tar: archive_read_support_format_tar(archive)
        }
        let empty: [UInt8] = [0]
        let opened = empty.withUnsafeBytes { fallback in
            archive_read_open_memory(archive, base.bytes.baseAddress ?? fallback.baseAddress!, base.count)
        }
        guard opened == ARCHIVE_OK else { throw libarchiveError(archive, "cannot open as \(container)", path: path) }
        // A member may not inflate to more than this: a guard against decompression bombs.
        let limit = base.count.multipliedReportingOverflow(by: 8).partialValue + (1 << 20)
        var members: [(String, Storage)] = []
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(archive, &entry)
            if status == ARCHIVE_EOF { break }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
                throw libarchiveError(archive, "cannot read the next member", path: path)
            }
            let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
            if name.hasSuffix("/") { continue }  // a directory entry
            members.append((name, try readData(archive, base: base, member: name, limit: limit, path: path)))
        }
        guard !members.isEmpty else { throw FormatError(.badHeader, "\(container) archive has no members", path: path) }
        return members
    }

    /// One member's bytes. Blocks inside `base` are stable and kept as views; any other block
    /// lives in libarchive's reusable buffer and is copied before the next call.
    private static func readData(_ archive: OpaquePointer, base: Storage, member: String, limit: Int, path: String) throws -> Storage {
        let memory = base.bytes
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
                throw libarchiveError(archive, "cannot read member '\(member)'", path: path)
            }
            guard let block, size > 0 else { continue }
            let end = Int(offset) + size
            guard offset >= 0, end <= limit else {
                throw FormatError(.outOfBounds, "member '\(member)' inflates past \(limit) bytes", path: path)
            }
            total = Swift.max(total, end)
            if offset == 0, copied.isEmpty, inPlace == nil, let start = memory.baseAddress,
               block >= start, block + size <= start + memory.count {
                inPlace = (block - start)..<(block - start + size)
            } else {
                if let r = inPlace { copied.append((0, Array(memory[r]))); inPlace = nil }
                copied.append((Int(offset), Array(UnsafeRawBufferPointer(start: block, count: size))))
            }
        }
        if let inPlace, inPlace.count == total { return try base.slice(inPlace) }
        if total == 0 { return try base.slice(0..<0) }
        return Storage(count: total) { out in
            out.initializeMemory(as: UInt8.self, repeating: 0)
            for b in copied { b.bytes.withUnsafeBytes { (out.baseAddress! + b.offset).copyMemory(from: $0.baseAddress!, byteCount: b.bytes.count) } }
        }
    }

    static func libarchiveError(_ archive: OpaquePointer, _ what: String, path: String) -> FormatError {
        let reason = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        return FormatError(.badHeader, "\(what): \(reason)", path: path)
    }
}
