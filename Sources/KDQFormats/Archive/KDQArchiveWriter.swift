import CArchive
import Dispatch
import KDQJSON
import KDQTensor
#if canImport(Glibc)
import Glibc
#endif

/// How to write a `.kdq` archive.
public struct KDQWriteOptions: Sendable {
    /// Optional whole-stream compression (the uncompressed form is memory-mappable).
    public enum Compression: String, Sendable, CaseIterable { case none, zstd, xz }

    public var compression: Compression = .none
    /// The command line recorded in the provenance.
    public var command: String = ""
    /// Tensor conversions applied before writing (recorded in the provenance).
    public var conversions: [(tensor: String, from: Encoding, to: Encoding)] = []
    /// Seconds since 1970 recorded as the creation time and member mtimes: `SOURCE_DATE_EPOCH`
    /// when the environment sets it (reproducible archives, as reproducible-builds.org defines
    /// it), else now.
    public var created: Int = KDQWriteOptions.sourceDateEpoch ?? Int(time(nil))

    static var sourceDateEpoch: Int? {
        getenv("SOURCE_DATE_EPOCH").flatMap { Int(String(cString: $0)) }.flatMap { $0 >= 0 ? $0 : nil }
    }

    public init(compression: Compression = .none, command: String = "") {
        self.compression = compression
        self.command = command
    }
}

/// Writes a checkpoint as a `.kdq` archive (formats/kdq.md): manifest first, tensors on
/// 512-byte boundaries, tokenizer and mel filters, and a last member holding the SHA-256 of
/// every byte before it. Written under a temporary name and renamed when complete.
public enum KDQArchiveWriter {
    struct Member {
        let name: String
        let data: Storage
        /// The size before zstd compression, for compressed members.
        var uncompressedBytes: Int? = nil
    }

    /// Writes `checkpoint` to `path`; `progress` receives bytes written and the total.
    public static func write(_ checkpoint: Checkpoint, to path: String, options: KDQWriteOptions = KDQWriteOptions(),
                             progress: ((Int, Int) -> Void)? = nil) throws {
        let members = try plan(checkpoint)
        let hashes = hashAll(members, alongside: { _ = checkpoint.provenance.sha256 })
        let manifest = makeManifest(checkpoint, members: members, hashes: hashes, options: options)
        let manifestBytes = KDQArchiveLayout.manifestBytes(manifest)

        try AtomicOutput.produce(path) { output in
            let tarPath = options.compression == .none ? output.temporaryPath : output.scratchPath(".tar")
            try writeTar(to: tarPath, manifest: manifestBytes, members: members, hashes: hashes, mtime: options.created, progress: progress)
            if options.compression != .none {
                try compress(tarPath, to: output.temporaryPath, with: options.compression)
            }
        }
    }

    /// The bytes `write` would make of `checkpoint` without compression (the tar stream is
    /// written to /dev/null and counted): what a size budget for the whole file must count.
    public static func archiveBytes(_ checkpoint: Checkpoint, options: KDQWriteOptions = KDQWriteOptions()) throws -> Int {
        let members = try plan(checkpoint)
        let hashes = Dictionary(uniqueKeysWithValues: members.map { ($0.name, String(repeating: "0", count: 64)) })
        let manifestBytes = KDQArchiveLayout.manifestBytes(makeManifest(checkpoint, members: members, hashes: hashes, options: options))
        let fd = open("/dev/null", O_WRONLY)
        guard fd >= 0 else { throw FormatError(.io, "cannot open: \(String(cString: strerror(errno)))", path: "/dev/null") }
        defer { close(fd) }
        return try writeTar(fd: fd, path: "/dev/null", manifest: manifestBytes, members: members, hashes: hashes, mtime: options.created,
                            progress: nil)
    }

    /// The members after the manifest, in archive order.
    static func plan(_ c: Checkpoint) throws -> [Member] {
        var members: [Member] = []
        for (name, t) in c.tensors {
            members.append(Member(name: KDQArchiveLayout.tensorMember(name), data: t.data))
            if let scales = t.scales { members.append(Member(name: KDQArchiveLayout.scalesMember(name), data: scales)) }
        }
        if let v = c.tokenizer.vocabulary { members.append(try compressed(KDQArchiveLayout.vocabulary, VocabularyCodec.encode(v))) }
        if let j = c.tokenizer.tokenizerJSON { members.append(try compressed(KDQArchiveLayout.tokenizerJSON, j)) }
        if let m = c.melFilters { members.append(Member(name: KDQArchiveLayout.melFilters, data: Storage(values: m.values))) }
        return members
    }

    static func compressed(_ name: String, _ bytes: [UInt8]) throws -> Member {
        Member(name: name, data: Storage(copying: try CompressedStream.compress(bytes)), uncompressedBytes: bytes.count)
    }

    /// SHA-256 of every member, spread over all cores, while `alongside` (the source file's
    /// hash, one long sequential job) runs as one more job of the same batch.
    static func hashAll(_ members: [Member], alongside: @escaping () -> Void) -> [String: String] {
        var hashes = [String](repeating: "", count: members.count)
        hashes.withUnsafeMutableBufferPointer { out in
            let out = out
            DispatchQueue.concurrentPerform(iterations: members.count + 1) { i in
                if i == 0 { alongside() } else { out[i - 1] = SHA256Hasher.hex(members[i - 1].data.bytes) }
            }
        }
        return Dictionary(uniqueKeysWithValues: zip(members.map(\.name), hashes))
    }

    static func reference(_ name: String, _ members: [Member], _ hashes: [String: String]) -> JSONValue {
        guard let m = members.first(where: { $0.name == name }) else { return .null }
        var o: JSONObject = ["member": .string(name), "bytes": .number(m.data.count), "sha256": .string(hashes[name]!)]
        if let raw = m.uncompressedBytes {
            o["compression"] = "zstd"
            o["uncompressed_bytes"] = .number(raw)
        }
        return .object(o)
    }

    static func makeManifest(_ c: Checkpoint, members: [Member], hashes: [String: String], options: KDQWriteOptions) -> JSONValue {
        var root = JSONObject()
        root["format"] = .string(KDQArchiveLayout.formatName)
        root["format_version"] = .number(KDQArchiveLayout.formatVersion)
        root["dims"] = .object(JSONObject(c.dims.namedValues.map { ($0.0, .number($0.1)) }))
        root["tensors"] = .array(c.tensors.map { name, t in
            let member = KDQArchiveLayout.tensorMember(name)
            var o: JSONObject = ["name": .string(name), "shape": .ints(t.shape), "encoding": .string(t.encoding.rawValue),
                                 "member": .string(member), "bytes": .number(t.data.count), "sha256": .string(hashes[member]!)]
            if t.scales != nil { o["scales"] = reference(KDQArchiveLayout.scalesMember(name), members, hashes) }
            return .object(o)
        })
        var tokenizer = JSONObject()
        if case .object(var v) = reference(KDQArchiveLayout.vocabulary, members, hashes) {
            v["count"] = .number(c.tokenizer.vocabulary?.count ?? 0)
            v["spelling"] = .string(c.tokenizer.spelling.rawValue)
            tokenizer["vocabulary"] = .object(v)
        } else {
            tokenizer["vocabulary"] = .null
        }
        tokenizer["tokenizer_json"] = reference(KDQArchiveLayout.tokenizerJSON, members, hashes)
        tokenizer["special_tokens"] = .object(JSONObject(c.tokenizer.specialTokens.sorted { $0.value < $1.value }.map { ($0.key, .number($0.value)) }))
        root["tokenizer"] = .object(tokenizer)
        if let m = c.melFilters, case .object(var mel) = reference(KDQArchiveLayout.melFilters, members, hashes) {
            mel["n_mels"] = .number(m.nMels)
            mel["n_frequencies"] = .number(m.nFrequencies)
            root["mel_filters"] = .object(mel)
        } else {
            root["mel_filters"] = .null
        }
        root["generation"] = c.generation.json
        root["provenance"] = provenance(c, options: options)
        var compression = c.archiveManifest?["compression"]?.objectValue ?? JSONObject()
        for section in KDQArchiveLayout.compressionSections where compression[section] == nil { compression[section] = .null }
        root["compression"] = .object(compression)
        return .object(root)
    }

    static func provenance(_ c: Checkpoint, options: KDQWriteOptions) -> JSONValue {
        var p = JSONObject()
        p["source"] = .object(["format": .string(c.provenance.format.rawValue), "path": .string(c.provenance.path),
                               "bytes": .number(c.provenance.size), "sha256": .string(c.provenance.sha256)])
        if let previous = c.archiveManifest?["provenance"] { p["derived_from"] = previous }
        p["tool"] = "kdq"
        p["tool_version"] = .string(kdqVersion)
        p["command"] = .string(options.command)
        p["created"] = .string(iso8601(options.created))
        p["conversions"] = .array(options.conversions.map {
            .object(["tensor": .string($0.tensor), "from": .string($0.from.rawValue), "to": .string($0.to.rawValue)])
        })
        return .object(p)
    }

    static func iso8601(_ seconds: Int) -> String {
        var t = time_t(seconds)
        var tm = tm()
        gmtime_r(&t, &tm)
        var buffer = [CChar](repeating: 0, count: 32)
        strftime(&buffer, 32, "%Y-%m-%dT%H:%M:%SZ", &tm)
        return String(cString: buffer)
    }

    static func writeTar(to path: String, manifest: [UInt8], members: [Member], hashes: [String: String], mtime: Int,
                         progress: ((Int, Int) -> Void)?) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FormatError(.io, "cannot create: \(String(cString: strerror(errno)))", path: path) }
        defer { close(fd) }
        try writeTar(fd: fd, path: path, manifest: manifest, members: members, hashes: hashes, mtime: mtime, progress: progress)
        guard fsync(fd) == 0 else { throw FormatError(.io, "cannot flush: \(String(cString: strerror(errno)))", path: path) }
    }

    /// Writes the tar stream to `fd`; returns its length.
    @discardableResult
    static func writeTar(fd: Int32, path: String, manifest: [UInt8], members: [Member], hashes: [String: String], mtime: Int,
                         progress: ((Int, Int) -> Void)?) throws -> Int {
        let tar = try TarWriter(fd: fd, path: path, mtime: mtime)
        let total = manifest.count + members.reduce(0) { $0 + $1.data.count }
        var done = 0
        try manifest.withUnsafeBytes { try tar.add(KDQArchiveLayout.manifest, $0) }
        done += manifest.count
        for m in members {
            try tar.add(m.name, m.data.bytes, dataDigest: hashes[m.name])
            done += m.data.count
            progress?(done, total)
        }
        let digest = Array((tar.sealDigest() + "\n").utf8)
        try digest.withUnsafeBytes { try tar.add(KDQArchiveLayout.digest, $0) }
        try tar.finish()
        return tar.bytesWritten
    }

    /// Streams the finished tar through libarchive's zstd or xz filter.
    static func compress(_ tarPath: String, to path: String, with compression: KDQWriteOptions.Compression) throws {
        let source = try MappedFile(path: tarPath)
        guard let a = archive_write_new() else { throw FormatError(.io, "libarchive could not allocate a writer", path: path) }
        defer { archive_write_free(a) }
        archive_write_set_format_raw(a)
        let filtered = compression == .zstd ? archive_write_add_filter_zstd(a) : archive_write_add_filter_xz(a)
        guard filtered == ARCHIVE_OK, archive_write_open_filename(a, path) == ARCHIVE_OK,
              let entry = archive_entry_new() else {
            throw FormatError(.io, "cannot start \(compression.rawValue) output: \(archive_error_string(a).map { String(cString: $0) } ?? "?")", path: path)
        }
        defer { archive_entry_free(entry) }
        archive_entry_set_filetype(entry, 0o100000)
        archive_entry_set_size(entry, Int64(source.bytes.count))
        guard archive_write_header(a, entry) == ARCHIVE_OK else { throw FormatError(.io, "cannot write \(compression.rawValue) header", path: path) }
        var offset = 0
        while offset < source.bytes.count {
            let n = Swift.min(8 << 20, source.bytes.count - offset)
            guard archive_write_data(a, source.bytes.baseAddress! + offset, n) == n else {
                throw FormatError(.io, "cannot compress: \(archive_error_string(a).map { String(cString: $0) } ?? "?")", path: path)
            }
            offset += n
        }
        guard archive_write_close(a) == ARCHIVE_OK else { throw FormatError(.io, "cannot finish \(compression.rawValue) output", path: path) }
    }
}

extension GenerationSettings {
    /// The settings as manifest JSON (null for unknown fields).
    public var json: JSONValue {
        func list(_ v: [Int]?) -> JSONValue { v.map { .ints($0) } ?? .null }
        return .object(["suppress_tokens": list(suppressTokens), "begin_suppress_tokens": list(beginSuppressTokens),
                        "alignment_heads": alignmentHeads.map { .array($0.map { .ints($0) }) } ?? .null,
                        "language_token_ids": list(languageTokenIDs)])
    }
}
