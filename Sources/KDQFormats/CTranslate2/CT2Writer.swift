import KDQJSON
import KDQTensor
#if canImport(Glibc)
import Glibc
#endif

/// Writes a faster-whisper / CTranslate2 model directory: `model.bin` (binary version 6,
/// WhisperSpec revision 3, variables sorted by name, QKV and cross-attention KV fused again
/// with zero key biases), `config.json` and `vocabulary.json` (and `tokenizer.json` when the
/// source has one).
public enum CT2Writer {
    struct Variable {
        let name: String
        let shape: [Int]
        let dtype: UInt8
        let data: Storage
    }

    /// CTranslate2's dtype id for an encoding it stores.
    static func dtype(_ e: Encoding) -> UInt8? {
        switch e {
        case .f32: return 0
        case .i8, .int8Rows: return 1
        case .i16: return 2
        case .i32: return 3
        case .f16: return 4
        case .bf16: return 5
        default: return nil
        }
    }

    public static func write(_ c: Checkpoint, toDirectory path: String) throws -> ExportReport {
        try c.requireVocabulary(for: "faster-whisper (CTranslate2)", output: path)
        var report = ExportReport()
        let variables = try makeVariables(c, &report).sorted { $0.name < $1.name }
        try AtomicOutput.produce(path, directory: true) { output in
            try makeDirectory(output.temporaryPath)
            let sink = try FileSink(creating: output.temporaryPath + "/model.bin")
            try sink.write(le: UInt32(6))
            try writeString("WhisperSpec", sink)
            try sink.write(le: UInt32(3))
            try sink.write(le: UInt32(variables.count))
            for v in variables {
                try writeString(v.name, sink)
                try sink.write(le: UInt8(v.shape.count))
                for d in v.shape { try sink.write(le: UInt32(d)) }
                try sink.write(le: v.dtype)
                try sink.write(le: UInt32(v.data.count))
                try sink.write(v.data.bytes)
            }
            try sink.write(le: UInt32(1))
            try writeString("decoder/projection/weight", sink)
            try writeString("decoder/embeddings/weight", sink)
            try sink.close()
            try writeSideFiles(c, directory: output.temporaryPath, &report)
        }
        return report
    }

    static func writeString(_ s: String, _ sink: FileSink) throws {
        try sink.write(le: UInt16(s.utf8.count + 1))
        try sink.write(s)
        try sink.write(le: UInt8(0))
    }

    /// Every variable of the spec, weights in the encodings CTranslate2 has.
    static func makeVariables(_ c: Checkpoint, _ report: inout ExportReport) throws -> [Variable] {
        var b = VariableBuilder(checkpoint: c)
        let d = c.dims
        for conv in ["conv1", "conv2"] {
            try b.add("encoder/\(conv)/weight", ["encoder.\(conv)"], parameter: "weight")
            try b.add("encoder/\(conv)/bias", ["encoder.\(conv)"], parameter: "bias")
        }
        try b.addWhole("encoder/position_encodings/encodings", "encoder.positional_embedding", isWeight: false)
        try b.addWhole("decoder/position_encodings/encodings", "decoder.positional_embedding", isWeight: false)
        try b.addWhole("decoder/embeddings/weight", "decoder.token_embedding.weight", isWeight: true)
        for (ct2, canonical) in [("encoder/layer_norm", "encoder.ln_post"), ("decoder/layer_norm", "decoder.ln")] {
            try b.addNorm(ct2, canonical)
        }
        for (side, layers) in [("encoder", d.nAudioLayer), ("decoder", d.nTextLayer)] {
            for i in 0..<layers {
                let ct2 = "\(side)/layer_\(i)/", block = "\(side).blocks.\(i)."
                var modules: [(String, [String], Int?)] = [
                    ("self_attention/linear_0", [block + "attn.query", block + "attn.key", block + "attn.value"], 1),
                    ("self_attention/linear_1", [block + "attn.out"], nil),
                    ("ffn/linear_0", [block + "mlp.0"], nil), ("ffn/linear_1", [block + "mlp.2"], nil),
                ]
                var norms = [("self_attention/layer_norm", block + "attn_ln"), ("ffn/layer_norm", block + "mlp_ln")]
                if side == "decoder" {
                    modules += [("attention/linear_0", [block + "cross_attn.query"], nil),
                                ("attention/linear_1", [block + "cross_attn.key", block + "cross_attn.value"], 0),
                                ("attention/linear_2", [block + "cross_attn.out"], nil)]
                    norms.append(("attention/layer_norm", block + "cross_attn_ln"))
                }
                for (m, parts, biasless) in modules {
                    try b.add(ct2 + m + "/weight", parts, parameter: "weight")
                    try b.add(ct2 + m + "/bias", parts, parameter: "bias", biasless: biasless)
                }
                for (m, canonical) in norms { try b.addNorm(ct2 + m, canonical) }
            }
        }
        for (name, _) in c.tensors where !b.used.contains(name) {
            b.report.omitted("tensor '\(name)' has no place in CTranslate2's WhisperSpec")
        }
        report = b.report
        return b.variables + scalars(d)
    }

    /// Collects variables, the tensors they used, and the conversions they needed.
    struct VariableBuilder {
        let checkpoint: Checkpoint
        var variables: [Variable] = []
        var used = Set<String>()
        var report = ExportReport()

        mutating func take(_ name: String) throws -> Tensor {
            guard let t = checkpoint.tensor(named: name) else { throw FormatError(.missingTensor, "required tensor is missing", tensor: name) }
            used.insert(name)
            return t
        }

        /// One variable from one tensor.
        mutating func addWhole(_ ct2: String, _ name: String, isWeight: Bool) throws {
            variables += try CT2Writer.variables(ct2, [name], [take(name)], isWeight: isWeight, &report)
        }

        /// A layer norm's gamma and beta.
        mutating func addNorm(_ ct2: String, _ canonical: String) throws {
            try add(ct2 + "/gamma", [canonical], parameter: "weight")
            try add(ct2 + "/beta", [canonical], parameter: "bias")
        }

        /// A weight or bias of one module or of several fused by rows; the `biasless` part
        /// (the key projection) contributes zeros to a fused bias.
        mutating func add(_ ct2: String, _ parts: [String], parameter: String, biasless: Int? = nil) throws {
            var present: [Int: Tensor] = [:]
            for (k, part) in parts.enumerated() where !(parameter == "bias" && k == biasless) {
                present[k] = try take("\(part).\(parameter)")
            }
            var filled: [Tensor] = []
            for k in parts.indices {
                if let t = present[k] {
                    filled.append(t)
                } else if let template = present.values.first {
                    let zeros = try Tensor(shape: template.shape, floats: [Float](repeating: 0, count: template.elementCount))
                    filled.append(try zeros.converted(to: template.encoding))
                }
            }
            variables += try CT2Writer.variables(ct2, parts.map { "\($0).\(parameter)" }, filled, isWeight: parameter == "weight", &report)
        }
    }

    /// One CTranslate2 variable from one tensor or several fused by rows, in a common
    /// encoding CTranslate2 stores (ggml blocks become int8 rows; mixed parts are unified).
    static func variables(_ ct2: String, _ names: [String], _ parts: [Tensor], isWeight: Bool, _ report: inout ExportReport) throws -> [Variable] {
        func storable(_ e: Encoding) -> Encoding {
            if dtype(e) != nil { return isWeight || e != .int8Rows ? e : .f32 }
            return e.isQuantized && isWeight ? .int8Rows : .f32
        }
        var target = storable(parts[0].encoding)
        if parts.contains(where: { storable($0.encoding) != target }) { target = parts.contains { $0.encoding == .f32 } ? .f32 : .f16 }
        let converted = try zip(names, parts).map { name, t in
            try report.convert(name, t, to: target, target == .int8Rows ? "CTranslate2 has no ggml block types; int8 rows is its 8-bit form"
                                                                        : "CTranslate2 stores this in \(target.rawValue)")
        }
        let rows = converted.reduce(0) { $0 + ($1.shape.first ?? 1) }
        let shape = [rows] + converted[0].shape.dropFirst()
        let data = converted.count == 1 ? converted[0].data : Storage(copying: converted.flatMap { Array($0.data.bytes) })
        var out = [Variable(name: ct2, shape: shape, dtype: dtype(target)!, data: data)]
        if target == .int8Rows {
            let scales = converted.count == 1 ? converted[0].scales! : Storage(copying: converted.flatMap { Array($0.scales!.bytes) })
            out.append(Variable(name: ct2 + "_scale", shape: [rows], dtype: 0, data: scales))
        }
        return out
    }

    /// The spec's scalar variables, as the current CTranslate2 converter writes them.
    static func scalars(_ d: ModelDims) -> [Variable] {
        func i8(_ name: String, _ v: Int8) -> Variable { Variable(name: name, shape: [], dtype: 1, data: Storage(values: [v])) }
        func i16(_ name: String, _ v: Int16) -> Variable { Variable(name: name, shape: [], dtype: 2, data: Storage(values: [v])) }
        return [i8("decoder/activation", 3), i8("decoder/alibi", 0), i8("decoder/alibi_use_positive_positions", 0),
                i16("decoder/alignment_heads", 1), i16("decoder/alignment_layer", -1), i16("decoder/num_heads", Int16(d.nTextHead)),
                i8("decoder/pre_norm", 1), i8("decoder/scale_alibi", 0), i8("decoder/scale_embeddings", 0),
                i8("decoder/start_from_zero_embedding", 0), i16("encoder/num_heads", Int16(d.nAudioHead))]
    }

    static func writeSideFiles(_ c: Checkpoint, directory: String, _ report: inout ExportReport) throws {
        let g = c.generation
        let eot = c.tokenizer.specialTokens["<|endoftext|>"] ?? WhisperVocabulary.endOfText(nVocab: c.dims.nVocab)
        let half = c.dims.nTextLayer / 2
        let defaultHeads = (half..<c.dims.nTextLayer).flatMap { l in (0..<c.dims.nTextHead).map { [l, $0] } }
        if g.suppressTokens == nil { report.omitted("the source has no suppress_tokens list: config.json has an empty suppress_ids") }
        let config: JSONValue = .object([
            "alignment_heads": .array((g.alignmentHeads ?? defaultHeads).map { .ints($0) }),
            "lang_ids": .ints(g.languageTokenIDs ?? WhisperVocabulary.languageTokenIDs(c.tokenizer.specialTokens)),
            "suppress_ids": .ints(g.suppressTokens ?? []),
            "suppress_ids_begin": .ints(g.beginSuppressTokens ?? [220] + (eot.map { [$0] } ?? [])),
        ])
        try writeText(config.serialized(pretty: true) + "\n", to: directory + "/config.json")
        guard let vocabulary = c.tokenizer.completeByteLevelVocabulary(nVocab: c.dims.nVocab) else {
            throw FormatError(.unsupported, "the checkpoint carries no vocabulary", path: c.provenance.path)
        }
        let list: JSONValue = .array(vocabulary.map { .string(String(decoding: $0, as: UTF8.self)) })
        try writeText(list.serialized() + "\n", to: directory + "/vocabulary.json")
        if let tokenizer = c.tokenizer.tokenizerJSON {
            let sink = try FileSink(creating: directory + "/tokenizer.json")
            try sink.write(tokenizer)
            try sink.close()
        }
    }
}

func writeText(_ text: String, to path: String) throws {
    let sink = try FileSink(creating: path)
    try sink.write(text)
    try sink.close()
}

func makeDirectory(_ path: String) throws {
    guard mkdir(path, 0o755) == 0 else { throw FormatError(.io, "cannot create directory: \(String(cString: strerror(errno)))", path: path) }
}
