import KDQJSON
import KDQTensor

/// Writes a Hugging Face Whisper directory that `WhisperForConditionalGeneration.from_pretrained`
/// loads: `model.safetensors` under HF names, `config.json`, `generation_config.json`,
/// `preprocessor_config.json`, and `tokenizer.json` when the source has one.
public enum HuggingFaceWriter {
    public static func write(_ c: Checkpoint, toDirectory path: String) throws -> ExportReport {
        var report = ExportReport()
        var tensors: [(name: String, tensor: Tensor)] = []
        for (name, t) in c.tensors {
            var t = t
            if SafetensorsWriter.dtypeNames[t.encoding] == nil || t.encoding.isQuantized {
                t = try report.convert(name, t, to: .f32, "transformers loads plain float tensors; f32 holds the dequantized values exactly")
            }
            tensors.append((HuggingFaceNames.huggingFace(name), t))
        }
        tensors.sort { $0.name < $1.name }
        try AtomicOutput.produce(path, directory: true) { output in
            try makeDirectory(output.temporaryPath)
            try SafetensorsWriter.write(tensors, metadata: ["format": "pt"], to: output.temporaryPath + "/model.safetensors")
            let floatType = c.tensors.contains { $0.tensor.encoding == .f32 } ? "float32" : (c.tensors.contains { $0.tensor.encoding == .bf16 } ? "bfloat16" : "float16")
            try writeText(config(c, dtype: floatType).serialized(pretty: true) + "\n", to: output.temporaryPath + "/config.json")
            try writeText(generationConfig(c).serialized(pretty: true) + "\n", to: output.temporaryPath + "/generation_config.json")
            try writeText(preprocessorConfig(c).serialized(pretty: true) + "\n", to: output.temporaryPath + "/preprocessor_config.json")
            if let tokenizer = c.tokenizer.tokenizerJSON {
                let sink = try FileSink(creating: output.temporaryPath + "/tokenizer.json")
                try sink.write(tokenizer)
                try sink.close()
            } else {
                report.omitted("the source has no tokenizer.json: none written (the model loads; a WhisperProcessor needs one)")
            }
        }
        return report
    }

    static func specialIDs(_ c: Checkpoint) -> (eot: Int, sot: Int) {
        let eot = c.tokenizer.specialTokens["<|endoftext|>"] ?? WhisperVocabulary.endOfText(nVocab: c.dims.nVocab) ?? c.dims.nVocab - 3
        return (eot, c.tokenizer.specialTokens["<|startoftranscript|>"] ?? eot + 1)
    }

    static func config(_ c: Checkpoint, dtype: String) -> JSONValue {
        let d = c.dims
        let (eot, sot) = specialIDs(c)
        var o: JSONObject = [
            "architectures": ["WhisperForConditionalGeneration"], "model_type": "whisper",
            "vocab_size": .number(d.nVocab), "num_mel_bins": .number(d.nMels), "d_model": .number(d.nAudioState),
            "encoder_layers": .number(d.nAudioLayer), "encoder_attention_heads": .number(d.nAudioHead),
            "decoder_layers": .number(d.nTextLayer), "decoder_attention_heads": .number(d.nTextHead),
            "encoder_ffn_dim": .number(4 * d.nAudioState), "decoder_ffn_dim": .number(4 * d.nTextState),
            "max_source_positions": .number(d.nAudioCtx), "max_target_positions": .number(d.nTextCtx),
            "activation_function": "gelu", "scale_embedding": false, "tie_word_embeddings": true, "use_cache": true,
            "bos_token_id": .number(eot), "eos_token_id": .number(eot), "pad_token_id": .number(eot),
            "decoder_start_token_id": .number(sot), "torch_dtype": .string(dtype),
        ]
        if let s = c.generation.suppressTokens { o["suppress_tokens"] = .ints(s) }
        if let b = c.generation.beginSuppressTokens { o["begin_suppress_tokens"] = .ints(b) }
        return .object(o)
    }

    static func generationConfig(_ c: Checkpoint) -> JSONValue {
        let (eot, sot) = specialIDs(c)
        var o: JSONObject = ["bos_token_id": .number(eot), "eos_token_id": .number(eot), "pad_token_id": .number(eot),
                             "decoder_start_token_id": .number(sot), "max_length": .number(c.dims.nTextCtx),
                             "is_multilingual": .bool(c.dims.isMultilingual)]
        if let s = c.generation.suppressTokens { o["suppress_tokens"] = .ints(s) }
        if let b = c.generation.beginSuppressTokens { o["begin_suppress_tokens"] = .ints(b) }
        if let a = c.generation.alignmentHeads { o["alignment_heads"] = .array(a.map { .ints($0) }) }
        if let id = c.tokenizer.specialTokens["<|notimestamps|>"] { o["no_timestamps_token_id"] = .number(id) }
        let languages = c.tokenizer.specialTokens.filter { WhisperVocabulary.languageTokenIDs([$0.key: $0.value]).count == 1 }
        if !languages.isEmpty { o["lang_to_id"] = .object(JSONObject(languages.sorted { $0.value < $1.value }.map { ($0.key, .number($0.value)) })) }
        var tasks = JSONObject()
        for task in ["transcribe", "translate"] { if let id = c.tokenizer.specialTokens["<|\(task)|>"] { tasks[task] = .number(id) } }
        if !tasks.entries.isEmpty { o["task_to_id"] = .object(tasks) }
        return .object(o)
    }

    static func preprocessorConfig(_ c: Checkpoint) -> JSONValue {
        .object(["feature_extractor_type": "WhisperFeatureExtractor", "feature_size": .number(c.dims.nMels), "sampling_rate": 16000,
                 "hop_length": 160, "n_fft": 400, "chunk_length": 30, "n_samples": 480000, "nb_max_frames": 3000,
                 "padding_side": "right", "padding_value": 0.0, "return_attention_mask": false, "processor_class": "WhisperProcessor"])
    }
}
