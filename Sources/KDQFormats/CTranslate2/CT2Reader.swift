import KDQTensor
import KDQJSON

/// Reads a CTranslate2 / faster-whisper model directory (`model.bin`, `config.json`,
/// `vocabulary.json` or `vocabulary.txt`, `tokenizer.json`) into canonical form.
enum CT2Reader {
    static func read(directory: String, modelFile: MappedFile) throws -> Checkpoint {
        try assemble(directory: directory, weights: readWeights(modelFile), modelFile: modelFile)
    }

    /// `model.bin`'s tensors under their canonical names, and the dims they imply.
    static func readWeights(_ modelFile: MappedFile) throws -> (dims: ModelDims, tensors: [String: Tensor]) {
        let path = modelFile.path
        let model = try CT2ModelFile(file: modelFile, path: path)
        guard model.specName == "WhisperSpec" else {
            throw FormatError(.unsupported, "CTranslate2 spec '\(model.specName)' is not a Whisper model (expected WhisperSpec)", path: path)
        }
        var tensors: [String: Tensor] = [:]
        for (name, variable) in model.variables where !name.hasSuffix("_scale") && !variable.shape.isEmpty {
            do {
                let tensor = try makeTensor(variable, scale: model.variables[name + "_scale"])
                for (canonical, part) in try split(name, tensor) { tensors[canonical] = part }
            } catch {
                throw FormatError.wrapping(error, path: path, tensor: name, offset: variable.offset)
            }
        }
        let dims = try DimsInference.infer(from: tensors, audioHeads: scalar(model, "encoder/num_heads"),
                                           textHeads: scalar(model, "decoder/num_heads"), path: path)
        return (dims, tensors)
    }

    /// The checkpoint from `model.bin`'s weights and the files beside it (the vocabulary,
    /// `tokenizer.json`, `config.json`).
    static func assemble(directory: String, weights: (dims: ModelDims, tensors: [String: Tensor]), modelFile: MappedFile) throws -> Checkpoint {
        let tokenizer = try CT2Vocabulary.load(directory: directory)
        let configPath = directory + "/config.json"
        let config = try FileBytes.readIfPresent(configPath).map { try parseJSON($0, path: configPath) }
        let provenance = Provenance(format: .ctranslate2, path: directory, weightsFile: modelFile)
        return try Checkpoint(dims: weights.dims, tensors: weights.tensors, tokenizer: tokenizer, melFilters: nil,
                              generation: .fromCTranslate2(config), provenance: provenance)
    }

    /// An i8 weight with a `_scale` sibling becomes int8 rows; everything else keeps its dtype.
    private static func makeTensor(_ v: CT2ModelFile.Variable, scale: CT2ModelFile.Variable?) throws -> Tensor {
        let encoding = CT2ModelFile.encoding(dtype: v.dtype)!
        guard let scale else { return try Tensor(shape: v.shape, encoding: encoding, data: v.data) }
        guard encoding == .i8, scale.dtype == 0, scale.shape == [v.shape.first ?? 0] else {
            throw FormatError(.unsupported, "only int8 weights with one f32 scale per row are supported; found \(encoding.rawValue) with scale shape \(scale.shape)")
        }
        return try Tensor(shape: v.shape, encoding: .int8Rows, data: v.data, scales: scale.data)
    }

    /// Maps one variable to its canonical tensor(s), splitting fused projections by rows.
    private static func split(_ name: String, _ tensor: Tensor) throws -> [(String, Tensor)] {
        if let canonical = CT2Names.variables[name] { return [(canonical, tensor)] }
        guard let slash = name.lastIndex(of: "/"), let module = CT2Names.module(String(name[..<slash])),
              let parameter = CT2Names.parameters[String(name[name.index(after: slash)...])] else {
            return [(name, tensor)]  // not a Whisper tensor: kept under its own name
        }
        let parts = module.parts.count
        guard let rows = tensor.shape.first, rows % parts == 0 else {
            throw FormatError(.shapeMismatch, "cannot split shape \(tensor.shape) into \(parts) equal parts")
        }
        let step = rows / parts
        var out: [(String, Tensor)] = []
        for (k, part) in module.parts.enumerated() where !(parameter == "bias" && k == module.biasless) {
            out.append(("\(part).\(parameter)", parts == 1 ? tensor : try tensor.rows((k * step)..<((k + 1) * step))))
        }
        return out
    }

    private static func scalar(_ model: CT2ModelFile, _ name: String) -> Int? {
        guard let v = model.variables[name], v.shape.isEmpty, let encoding = CT2ModelFile.encoding(dtype: v.dtype),
              let t = try? Tensor(shape: [], encoding: encoding, data: v.data), let value = try? t.decodedFloats().first else { return nil }
        return Int(exactly: value)
    }
}
