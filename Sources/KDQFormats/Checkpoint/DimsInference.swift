import KDQTensor

/// Derives `ModelDims` from canonical tensor shapes, for formats that do not store them
/// (CTranslate2; Hugging Face files without config.json).
enum DimsInference {
    /// Head counts come from the caller when the source records them; otherwise Whisper's
    /// constant head width of 64 is assumed (true of every released size).
    static func infer(from tensors: [String: Tensor], audioHeads: Int?, textHeads: Int?, path: String) throws -> ModelDims {
        func shape(_ name: String, rank: Int) throws -> [Int] {
            guard let t = tensors[name] else { throw FormatError(.missingTensor, "required tensor is missing", path: path, tensor: name) }
            guard t.shape.count == rank else {
                throw FormatError(.shapeMismatch, "expected rank \(rank), found shape \(t.shape)", path: path, tensor: name)
            }
            return t.shape
        }
        func layers(_ prefix: String) -> Int {
            var n = 0
            while tensors["\(prefix).blocks.\(n).attn.query.weight"] != nil { n += 1 }
            return n
        }
        let conv1 = try shape("encoder.conv1.weight", rank: 3)
        let audioPos = try shape("encoder.positional_embedding", rank: 2)
        let textPos = try shape("decoder.positional_embedding", rank: 2)
        let embedding = try shape("decoder.token_embedding.weight", rank: 2)
        let audioState = audioPos[1], textState = embedding[1]
        return ModelDims(nMels: conv1[1], nAudioCtx: audioPos[0], nAudioState: audioState,
                         nAudioHead: audioHeads ?? Swift.max(1, audioState / 64), nAudioLayer: layers("encoder"),
                         nVocab: embedding[0], nTextCtx: textPos[0], nTextState: textState,
                         nTextHead: textHeads ?? Swift.max(1, textState / 64), nTextLayer: layers("decoder"))
    }
}
