import KDQTensor

/// Reads torch.save zip files: OpenAI Whisper `.pt` (`{'dims', 'model_state_dict'}`) and
/// Hugging Face `pytorch_model.bin` (a state dict under HF names).
enum TorchCheckpointReader {
    static func read(file: MappedFile, path: String, hfDirectory: String?) throws -> Checkpoint {
        let members = Dictionary(try ArchiveMembers.read(Storage(file: file, range: 0..<file.bytes.count), as: .zip, path: path).map { ($0.name, $0.data) }) { a, _ in a }
        let (root, pickle) = try locatePickle(members, path: path)
        if let order = members[root + "byteorder"], String(decoding: order.bytes, as: UTF8.self) != "little" {
            throw FormatError(.unsupported, "big-endian torch checkpoints are not supported (byteorder '\(String(decoding: order.bytes, as: UTF8.self))')", path: path)
        }
        var unpickler = RestrictedUnpickler(pickle.bytes, path: path + ":" + root + "data.pkl") { pid in
            try storage(for: pid, members: members, root: root, path: path)
        }
        defer { unpickler.releaseContainers() }
        let top = try unpickler.load()
        guard case .dict(let object) = top else {
            throw FormatError(.badHeader, "checkpoint holds a \(top.kind), expected a dict", path: path)
        }
        if let state = object["model_state_dict"], let dimsValue = object["dims"] {
            let dims = try openAIDims(dimsValue, path: path)
            let tensors = try stateDict(state, members: members, root: root, path: path)
            let provenance = Provenance(format: .openaiPT, path: path, weightsFile: file)
            // OpenAI checkpoints carry no tokenizer: openai-whisper's own, chosen by the size.
            let tokenizer = try OpenAIVocabulary.material(nVocab: dims.nVocab) ?? TokenizerMaterial()
            // Nor alignment heads: openai-whisper's for the release these dims are.
            let generation = GenerationSettings(alignmentHeads: try OpenAIAlignmentHeads.heads(for: dims))
            return try Checkpoint(dims: dims, tensors: Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.tensor) }),
                                  tokenizer: tokenizer, melFilters: nil, generation: generation, provenance: provenance)
        }
        let tensors = try stateDict(top, members: members, root: root, path: path)
        let provenance = Provenance(format: .huggingFacePyTorch, path: hfDirectory ?? path, weightsFile: file)
        return try HuggingFaceReader.assemble(tensors, metadata: [:], directory: hfDirectory ?? FileBytes.parent(of: path),
                                              provenance: provenance)
    }

    /// The single `<root>/data.pkl` of the archive.
    private static func locatePickle(_ members: [String: Storage], path: String) throws -> (String, Storage) {
        let pickles = members.keys.filter { $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }.sorted()
        guard let name = pickles.first else {
            throw FormatError(.badHeader, "zip has no data.pkl member: not a torch.save checkpoint", path: path)
        }
        return (String(name.dropLast("data.pkl".count)), members[name]!)
    }

    /// Resolves `('storage', <Type>Storage, key, location, numel)` to the member `data/<key>`.
    private static func storage(for pid: PickleValue, members: [String: Storage], root: String, path: String) throws -> PickleValue {
        guard let t = pid.tupleValue, t.count >= 5, t[0].stringValue == "storage", case .global(_, let type) = t[1],
              let key = t[2].stringValue, let numel = t[4].intValue, numel >= 0 else {
            throw FormatError(.badPickle, "persistent id is not ('storage', type, key, location, numel)", path: path)
        }
        guard let encoding = TorchStorageTypes.encodings[type] else {
            throw FormatError(.unsupported, "storage type \(type) is not supported", path: path)
        }
        guard let data = members[root + "data/" + key] else {
            throw FormatError(.missingTensor, "storage '\(key)' has no member \(root)data/\(key)", path: path)
        }
        let needed = try Checked.multiply(numel, encoding.blockBytes, "size of storage '\(key)'")
        guard data.count >= needed else {
            throw FormatError(.outOfBounds, "storage '\(key)' needs \(needed) bytes, member has \(data.count)", path: path)
        }
        return .storage(TorchStorageRef(key: key, encoding: encoding, elementCount: numel))
    }

    private static func openAIDims(_ value: PickleValue, path: String) throws -> ModelDims {
        guard case .dict(let d) = value else { throw FormatError(.badHeader, "'dims' is a \(value.kind), expected a dict", path: path) }
        do { return try ModelDims { d[$0]?.intValue } } catch var e as FormatError {
            e.path = path
            throw e
        }
    }

    /// The tensors of a state dict, in its order.
    private static func stateDict(_ value: PickleValue, members: [String: Storage], root: String, path: String) throws
        -> [(name: String, tensor: Tensor)] {
        guard case .dict(let d) = value else { throw FormatError(.badHeader, "state dict is a \(value.kind), expected a dict", path: path) }
        var seen = Set<String>()
        return try d.items.map { key, v in
            guard let name = key.stringValue else { throw FormatError(.badHeader, "state dict key is a \(key.kind)", path: path) }
            guard seen.insert(name).inserted else { throw FormatError(.badHeader, "the state dict names this tensor twice", path: path, tensor: name) }
            guard case .tensor(let ref) = v else { throw FormatError(.badHeader, "value is a \(v.kind), expected a tensor", path: path, tensor: name) }
            guard let storage = members[root + "data/" + ref.storage.key] else {
                throw FormatError(.badHeader, "its storage \(ref.storage.key) is not a member of the zip", path: path, tensor: name)
            }
            do { return (name, try materialize(ref, storage)) } catch {
                throw FormatError.wrapping(error, path: path, tensor: name)
            }
        }
    }

    /// A contiguous view of the storage, or a strided gather into owned memory.
    static func materialize(_ ref: TorchTensorRef, _ storage: Storage) throws -> Tensor {
        let n = try Checked.elementCount(ref.shape)
        let size = ref.storage.encoding.blockBytes
        var expected = 1
        var contiguous = true
        var lastIndex = ref.offset
        for (d, s) in zip(ref.shape, ref.stride).reversed() {
            if d != 1 && s != expected { contiguous = false }
            expected = try Checked.multiply(expected, d, "stride")
            if d > 0 { lastIndex = try Checked.add(lastIndex, try Checked.multiply(d - 1, s, "extent"), "extent") }
        }
        guard n == 0 || lastIndex < ref.storage.elementCount else {
            throw FormatError(.outOfBounds, "view reaches element \(lastIndex) of a storage of \(ref.storage.elementCount)")
        }
        if contiguous {
            let start = try Checked.multiply(ref.offset, size, "offset")
            let data = n == 0 ? try storage.slice(0..<0) : try storage.slice(start..<(start + n * size))
            return try Tensor(shape: ref.shape, encoding: ref.storage.encoding, data: data)
        }
        let data = Storage(count: n * size) { out in
            var index = [Int](repeating: 0, count: ref.shape.count)
            for i in 0..<n {
                var source = ref.offset
                for k in 0..<index.count { source += index[k] * ref.stride[k] }
                (out.baseAddress! + i * size).copyMemory(from: storage.bytes.baseAddress! + source * size, byteCount: size)
                var k = index.count - 1
                while k >= 0 { index[k] += 1; if index[k] < ref.shape[k] { break }; index[k] = 0; k -= 1 }
            }
        }
        return try Tensor(shape: ref.shape, encoding: ref.storage.encoding, data: data)
    }
}
