import KDQJSON
import KDQTensor

/// Reads a `.kdq` archive into a checkpoint. Tensors of an uncompressed archive are views
/// into the memory-mapped file; a zstd or xz archive is decompressed into memory first.
/// Reading checks structure and sizes; `KDQVerifier` also re-hashes every member.
public enum KDQArchiveReader {
    /// The whole archive as tar bytes: the mapping itself, or the decompressed stream.
    public static func tarBytes(_ file: MappedFile) throws -> Storage {
        let whole = try Storage(file: file, range: 0..<file.bytes.count)
        guard isCompressed(file.bytes) else { return whole }
        let limit = file.bytes.count.multipliedReportingOverflow(by: 64).partialValue + (1 << 20)
        let out = try CompressedStream.decompress(file.bytes, limit: limit, path: file.path)
        return Storage(copying: out)
    }

    /// True for zstd and xz streams (the archive's compressed forms).
    static func isCompressed(_ b: UnsafeRawBufferPointer) -> Bool {
        b.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) || b.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00])
    }

    /// True when `b` starts like an uncompressed `.kdq` (a ustar header for manifest.json).
    static func looksLikeArchive(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 512 else { return false }
        let name = Array(KDQArchiveLayout.manifest.utf8)
        return b[257..<262].elementsEqual(Array("ustar".utf8)) && b.starts(with: name) && b[name.count] == 0
    }

    static func read(file: MappedFile, path: String) throws -> Checkpoint {
        let members = try ArchiveMembers.read(try tarBytes(file), as: .tar, path: path)
        var byName: [String: Storage] = [:]
        for m in members where byName[m.name] == nil { byName[m.name] = m.data }
        guard members.first?.name == KDQArchiveLayout.manifest, let manifestData = byName[KDQArchiveLayout.manifest] else {
            throw FormatError(.badHeader, "first member is '\(members.first?.name ?? "")', expected \(KDQArchiveLayout.manifest)", path: path)
        }
        let manifest: JSONObject
        do {
            guard let object = try JSONValue.parse(manifestData.bytes).objectValue else { throw JSONError("manifest is not an object") }
            manifest = object
        } catch let e as JSONError {
            throw FormatError(.badHeader, "\(KDQArchiveLayout.manifest): \(e.description)", path: path, offset: e.offset)
        }
        return try ManifestDecoder(manifest: manifest, members: byName, path: path).checkpoint(file: file)
    }
}

/// Turns a manifest plus member bytes into a checkpoint, checking each reference.
struct ManifestDecoder {
    let manifest: JSONObject
    let members: [String: Storage]
    let path: String

    func fail(_ message: String, tensor: String? = nil) -> FormatError {
        FormatError(.badHeader, "manifest: \(message)", path: path, tensor: tensor)
    }

    func checkpoint(file: MappedFile) throws -> Checkpoint {
        guard manifest["format"]?.stringValue == KDQArchiveLayout.formatName else {
            throw fail("format is \(manifest["format"]?.serialized() ?? "missing"), expected \"\(KDQArchiveLayout.formatName)\"")
        }
        guard let version = manifest["format_version"]?.intValue, version >= 1 else { throw fail("format_version is missing") }
        guard version <= KDQArchiveLayout.formatVersion else {
            throw FormatError(.unsupported, "archive format version \(version) is newer than this kdq reads (\(KDQArchiveLayout.formatVersion))", path: path)
        }
        guard let dimsObject = manifest["dims"]?.objectValue else { throw fail("dims are missing") }
        let dims = try ModelDims { dimsObject[$0]?.intValue }
        var tensors: [String: Tensor] = [:]
        for entry in manifest["tensors"]?.arrayValue ?? [] {
            let (name, tensor) = try decodeTensor(entry)
            guard tensors[name] == nil else { throw fail("tensor listed twice", tensor: name) }
            tensors[name] = tensor
        }
        var tokenizer = TokenizerMaterial()
        let tok = manifest["tokenizer"]
        if let v = tok?["vocabulary"], v != .null {
            let data = try contents(v, what: "vocabulary")
            tokenizer.vocabulary = try data.withUnsafeBytes { try VocabularyCodec.decode($0, count: v["count"]?.intValue ?? -1, path: path) }
            tokenizer.spelling = VocabularySpelling(rawValue: v["spelling"]?.stringValue ?? "") ?? .bytes
        }
        if let j = tok?["tokenizer_json"], j != .null { tokenizer.tokenizerJSON = try contents(j, what: "tokenizer_json") }
        for (k, v) in tok?["special_tokens"]?.objectValue?.entries ?? [] { if let id = v.intValue { tokenizer.specialTokens[k] = id } }
        var mel: MelFilters?
        if let m = manifest["mel_filters"], m != .null {
            let data = try member(m, what: "mel_filters")
            guard let n = m["n_mels"]?.intValue, let f = m["n_frequencies"]?.intValue, n >= 0, f >= 0,
                  n.multipliedReportingOverflow(by: f * 4) == (data.count, false) else {
                throw fail("mel_filters shape does not match its \(data.count) bytes")
            }
            let values = [Float](unsafeUninitializedCapacity: n * f) { out, count in
                UnsafeMutableRawBufferPointer(out).copyMemory(from: data.bytes)
                count = n * f
            }
            mel = MelFilters(nMels: n, nFrequencies: f, values: values)
        }
        let g = manifest["generation"]
        let generation = GenerationSettings(suppressTokens: GenerationSettings.ints(g?["suppress_tokens"]),
                                            beginSuppressTokens: GenerationSettings.ints(g?["begin_suppress_tokens"]),
                                            alignmentHeads: GenerationSettings.pairs(g?["alignment_heads"]),
                                            languageTokenIDs: GenerationSettings.ints(g?["language_token_ids"]))
        var c = try Checkpoint(dims: dims, tensors: tensors, tokenizer: tokenizer, melFilters: mel, generation: generation,
                               provenance: Provenance(format: .kdq, path: path, weightsFile: file))
        c.archiveManifest = manifest
        return c
    }

    /// The bytes of the member a `{member, bytes, sha256}` reference names, size-checked.
    func member(_ ref: JSONValue, what: String, tensor: String? = nil) throws -> Storage {
        guard let name = ref["member"]?.stringValue, let bytes = ref["bytes"]?.intValue else {
            throw fail("\(what) reference lacks member or bytes", tensor: tensor)
        }
        guard let data = members[name] else {
            throw FormatError(.missingTensor, "manifest names member '\(name)', which the archive lacks", path: path, tensor: tensor)
        }
        guard data.count == bytes else {
            throw FormatError(.shapeMismatch, "member '\(name)' has \(data.count) bytes, manifest says \(bytes)", path: path, tensor: tensor)
        }
        return data
    }

    /// A member's contents, decompressed when the reference says `"compression": "zstd"`.
    func contents(_ ref: JSONValue, what: String) throws -> [UInt8] {
        let data = try member(ref, what: what)
        guard let compression = ref["compression"]?.stringValue else { return Array(data.bytes) }
        guard compression == "zstd", let raw = ref["uncompressed_bytes"]?.intValue, raw >= 0 else {
            throw fail("\(what) has unknown compression '\(compression)' or no uncompressed_bytes")
        }
        let out = try CompressedStream.decompress(data.bytes, limit: raw, path: path)
        guard out.count == raw else { throw fail("\(what) decompresses to \(out.count) bytes, expected \(raw)") }
        return out
    }

    func decodeTensor(_ entry: JSONValue) throws -> (String, Tensor) {
        guard let name = entry["name"]?.stringValue else { throw fail("a tensor entry has no name") }
        guard let shapeValues = entry["shape"]?.arrayValue, let encodingName = entry["encoding"]?.stringValue else {
            throw fail("tensor entry lacks shape or encoding", tensor: name)
        }
        let shape = shapeValues.compactMap(\.intValue)
        guard shape.count == shapeValues.count, shape.allSatisfy({ $0 >= 0 }) else { throw fail("shape is not a list of sizes", tensor: name) }
        guard let encoding = Encoding(rawValue: encodingName) else {
            throw FormatError(.unsupported, "unknown encoding '\(encodingName)'", path: path, tensor: name)
        }
        // Computed values cost the file nothing: only the one table Whisper computes may be, so a
        // file cannot make a reader compute (and allocate) more than one bounded table.
        guard encoding != .sinusoids || name == CanonicalNames.audioPositions else {
            throw FormatError(.unsupported, "encoding 'sinusoids' is for \(CanonicalNames.audioPositions) only", path: path, tensor: name)
        }
        let data = try member(entry, what: "tensor", tensor: name)
        let scales = try entry["scales"].map { try member($0, what: "scales", tensor: name) }
        do { return (name, try Tensor(shape: shape, encoding: encoding, data: data, scales: scales)) } catch {
            throw FormatError.wrapping(error, path: path, tensor: name)
        }
    }
}
