import KDQTensor
import KDQJSON

/// Reads Hugging Face Whisper checkpoints: a directory with `model.safetensors`, a sharded
/// `model.safetensors.index.json`, or `pytorch_model.bin`, or a lone `.safetensors` file;
/// names are mapped to canonical ones and dims come from `config.json` (or the file's
/// `dims` metadata, or the tensor shapes).
enum HuggingFaceReader {
    /// Reads a lone `.safetensors` file (config.json beside it is used when present).
    static func readFile(_ file: MappedFile, path: String) throws -> Checkpoint {
        let st = try SafetensorsFile(file: file)
        return try assemble(st.tensors, metadata: st.metadata, directory: FileBytes.parent(of: path),
                            provenance: Provenance(format: .huggingFaceSafetensors, path: path, weightsFile: file))
    }

    /// Reads a sharded checkpoint through its index (`weight_map`: tensor name → shard file).
    static func readSharded(directory: String, index: String) throws -> Checkpoint {
        guard let bytes = try FileBytes.readIfPresent(index), let map = try parseJSON(bytes, path: index)["weight_map"]?.objectValue else {
            throw FormatError(.badHeader, "index has no weight_map object", path: index)
        }
        var shards: [String] = []
        for (_, v) in map.entries {
            guard let shard = v.stringValue, !shard.contains("/") else {
                throw FormatError(.badHeader, "weight_map entry \(v.serialized()) is not a file name in the same directory", path: index)
            }
            if !shards.contains(shard) { shards.append(shard) }
        }
        guard !shards.isEmpty else { throw FormatError(.badHeader, "weight_map is empty", path: index) }
        var tensors: [(name: String, tensor: Tensor)] = []
        var metadata: [String: String] = [:]
        var first: MappedFile?
        for shard in shards {
            let file = try FileBytes.map(directory + "/" + shard)
            first = first ?? file
            let st = try SafetensorsFile(file: file)
            tensors += st.tensors
            metadata.merge(st.metadata) { a, _ in a }
        }
        return try assemble(tensors, metadata: metadata, directory: directory,
                            provenance: Provenance(format: .huggingFaceSafetensors, path: directory, weightsFile: first!))
    }

    /// Maps Hugging Face names to canonical ones and builds the checkpoint.
    static func assemble(_ raw: [(name: String, tensor: Tensor)], metadata: [String: String], directory: String,
                         provenance: Provenance) throws -> Checkpoint {
        let config = try FileBytes.readIfPresent(directory + "/config.json").map { try parseJSON($0, path: directory + "/config.json") }
        var tensors: [String: Tensor] = [:]
        var projection: Tensor?
        for (name, tensor) in raw {
            if name == "proj_out.weight" { projection = tensor; continue }
            let canonical = HuggingFaceNames.canonical(name)
            guard tensors[canonical] == nil else {
                throw FormatError(.badHeader, "two tensors map to canonical name '\(canonical)'", path: provenance.path, tensor: name)
            }
            tensors[canonical] = tensor
        }
        if let projection, config?["tie_word_embeddings"]?.boolValue == false,
           !projection.data.hasSameBytes(as: tensors["decoder.token_embedding.weight"]?.data) {
            tensors["proj_out.weight"] = projection  // untied: kept so that nothing is lost silently
        }
        let dims = try dimsFrom(config: config, metadata: metadata, tensors: tensors, path: provenance.path)
        var tokenizer = TokenizerMaterial(spelling: .byteLevel, tokenizerJSON: try FileBytes.readIfPresent(directory + "/tokenizer.json"))
        if let config {
            for (key, token) in [("eos_token_id", "<|endoftext|>"), ("decoder_start_token_id", "<|startoftranscript|>")] {
                if let id = config[key]?.intValue { tokenizer.specialTokens[token] = id }
            }
        }
        let generationPath = directory + "/generation_config.json"
        let generation = try FileBytes.readIfPresent(generationPath).map { try parseJSON($0, path: generationPath) }
        return try Checkpoint(dims: dims, tensors: tensors, tokenizer: tokenizer, melFilters: nil,
                              generation: .fromHuggingFace(config: config, generation: generation), provenance: provenance)
    }

    private static func dimsFrom(config: JSONValue?, metadata: [String: String], tensors: [String: Tensor], path: String) throws -> ModelDims {
        if let config, config["d_model"] != nil {
            let keys = ["n_mels": "num_mel_bins", "n_audio_ctx": "max_source_positions", "n_audio_state": "d_model",
                        "n_audio_head": "encoder_attention_heads", "n_audio_layer": "encoder_layers", "n_vocab": "vocab_size",
                        "n_text_ctx": "max_target_positions", "n_text_state": "d_model", "n_text_head": "decoder_attention_heads",
                        "n_text_layer": "decoder_layers"]
            do { return try ModelDims { config[keys[$0]!]?.intValue } } catch var e as FormatError {
                e.path = path + "/config.json"
                throw e
            }
        }
        if let text = metadata["dims"], let dims = try? JSONValue.parse(text), dims.objectValue != nil {
            return try ModelDims { dims[$0]?.intValue }
        }
        return try DimsInference.infer(from: tensors, audioHeads: nil, textHeads: nil, path: path)
    }
}
