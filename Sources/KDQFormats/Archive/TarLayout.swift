import KDQTensor

/// A strict walk over the tar stream of a `.kdq` archive, for verification: every header's
/// checksum and canonical checksum field, zero padding after every member, the end-of-archive
/// blocks and nothing but zeros after them, and the trailing digest member over all bytes
/// before its header (member data counted by its SHA-256).
struct TarLayout {
    struct Entry {
        let name: String
        let headerOffset: Int
        let dataOffset: Int
        let size: Int
        /// A pax extended header (its data is hashed as it is).
        let isPax: Bool
    }

    /// Regular members, in order.
    var entries: [Entry] { all.filter { !$0.isPax } }
    /// Regular members and pax extended headers, in order.
    private(set) var all: [Entry] = []
    private(set) var problems: [String] = []

    init(_ b: UnsafeRawBufferPointer) {
        var offset = 0
        var pendingName: String?
        var pendingSize: Int?
        while true {
            guard offset + 512 <= b.count else { problems.append("stream ends inside a header at byte \(offset)"); return }
            let header = UnsafeRawBufferPointer(rebasing: b[offset..<(offset + 512)])
            if header.allSatisfy({ $0 == 0 }) { break }
            guard let entry = Self.parseHeader(header, at: offset, problems: &problems) else { return }
            let size = pendingSize ?? entry.size
            let dataOffset = offset + 512
            let padded = (size + 511) / 512 * 512
            guard dataOffset + padded <= b.count else {
                problems.append("member '\(entry.name)' (\(size) bytes at byte \(dataOffset)) runs past the end of the stream")
                return
            }
            if b[(dataOffset + size)..<(dataOffset + padded)].contains(where: { $0 != 0 }) {
                problems.append("padding after member '\(entry.name)' is not zero")
            }
            if entry.typeflag == UInt8(ascii: "x") {
                let records = Self.paxRecords(UnsafeRawBufferPointer(rebasing: b[dataOffset..<(dataOffset + size)]))
                pendingName = records["path"]
                pendingSize = records["size"].flatMap { Int($0) }
                all.append(Entry(name: entry.name, headerOffset: offset, dataOffset: dataOffset, size: size, isPax: true))
            } else {
                all.append(Entry(name: pendingName ?? entry.name, headerOffset: offset, dataOffset: dataOffset, size: size, isPax: false))
                pendingName = nil
                pendingSize = nil
            }
            offset = dataOffset + padded
        }
        let trailer = b.count - offset
        if trailer < 1024 || trailer % 512 != 0 { problems.append("end-of-archive has \(trailer) bytes, expected a multiple of 512 of at least 1024") }
        if b[offset...].contains(where: { $0 != 0 }) { problems.append("bytes after the end-of-archive marker are not zero") }
    }

    /// Checks the trailing digest member: SHA-256 over every byte before its header, except
    /// that the data of each regular member other than the manifest counts as its 32-byte
    /// SHA-256 (`memberDigest`, which verification computes anyway).
    func digestProblems(_ b: UnsafeRawBufferPointer, memberDigest: (String) -> [UInt8]?) -> [String] {
        guard let last = entries.last, last.name == KDQArchiveLayout.digest else {
            return ["last member is '\(entries.last?.name ?? "none")', expected \(KDQArchiveLayout.digest)"]
        }
        let hasher = SHA256Hasher()
        var position = 0
        for e in all where e.headerOffset < last.headerOffset {
            hasher.update(UnsafeRawBufferPointer(rebasing: b[position..<e.dataOffset]))
            position = e.dataOffset
            if !e.isPax && e.name != KDQArchiveLayout.manifest {
                guard let digest = memberDigest(e.name) else { return ["member '\(e.name)' has no digest"] }
                digest.withUnsafeBytes { hasher.update($0) }
                position = e.dataOffset + e.size
            }
        }
        hasher.update(UnsafeRawBufferPointer(rebasing: b[position..<last.headerOffset]))
        let expected = hasher.finalizeHex()
        let stored = Array(b[last.dataOffset..<(last.dataOffset + last.size)])
        guard stored == Array((expected + "\n").utf8) else {
            return ["archive digest mismatch: \(KDQArchiveLayout.digest) holds \(String(decoding: stored.prefix(64), as: UTF8.self)), the archive hashes to \(expected)"]
        }
        return []
    }

    private struct Header {
        let name: String
        let size: Int
        let typeflag: UInt8
    }

    private static func parseHeader(_ h: UnsafeRawBufferPointer, at offset: Int, problems: inout [String]) -> Header? {
        let name = String(decoding: h[0..<100].prefix { $0 != 0 }, as: UTF8.self)
        guard let size = octal(h[124..<136]) else { problems.append("header at byte \(offset): size field is not octal"); return nil }
        guard h[257..<263].elementsEqual(Array("ustar\0".utf8)), h[263..<265].elementsEqual(Array("00".utf8)) else {
            problems.append("header at byte \(offset): not a POSIX ustar header"); return nil
        }
        // The checksum field: six octal digits, NUL, space (as libarchive writes it).
        let field = Array(h[148..<156])
        let canonical = field[0..<6].allSatisfy { (0x30...0x37).contains($0) } && field[6] == 0 && field[7] == 0x20
        var sum = 0
        for (i, byte) in h.enumerated() { sum += (148..<156).contains(i) ? 0x20 : Int(byte) }
        if !canonical || octal(h[148..<154]) != sum {
            problems.append("header at byte \(offset) ('\(name)'): checksum does not match")
            return nil
        }
        return Header(name: name, size: size, typeflag: h[156])
    }

    private static func octal(_ field: Slice<UnsafeRawBufferPointer>) -> Int? {
        var v = 0
        var seen = false
        for c in field {
            if c == 0 || c == 0x20 { if seen { break } else { continue } }
            guard (0x30...0x37).contains(c) else { return nil }
            v = v * 8 + Int(c - 0x30)
            seen = true
            guard v < (1 << 60) else { return nil }
        }
        return seen ? v : nil
    }

    /// `length key=value\n` records of a pax extended header.
    private static func paxRecords(_ data: UnsafeRawBufferPointer) -> [String: String] {
        var out: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let space = line.firstIndex(of: " "), let eq = line.firstIndex(of: "=") else { continue }
            out[String(line[line.index(after: space)..<eq])] = String(line[line.index(after: eq)...])
        }
        return out
    }
}
