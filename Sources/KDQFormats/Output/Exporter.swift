/// The export targets and their writers.
public enum ExportTarget: String, CaseIterable, Sendable {
    /// A whisper.cpp model file.
    case ggml
    /// A faster-whisper / CTranslate2 model directory.
    case ct2
    /// A Hugging Face transformers directory.
    case hf
    /// An OpenAI Whisper checkpoint (`torch.save`), for openai-whisper's `load_model`.
    case pt

    /// Writes `checkpoint` to `path` in this format.
    public func write(_ checkpoint: Checkpoint, to path: String) throws -> ExportReport {
        if let kept = checkpoint.keptTokenCount {
            throw FormatError(.unsupported, "\(checkpoint.provenance.path) keeps \(kept) of its \(checkpoint.dims.nVocab) tokens "
                              + "(a trimmed vocabulary): \(rawValue) needs an embedding row for every token, so nothing was written", path: path)
        }
        switch self {
        case .ggml: return try GGMLWriter.write(checkpoint, to: path)
        case .ct2: return try CT2Writer.write(checkpoint, toDirectory: path)
        case .hf: return try HuggingFaceWriter.write(checkpoint, toDirectory: path)
        case .pt: return try TorchCheckpointWriter.write(checkpoint, to: path)
        }
    }
}

extension Checkpoint {
    /// Throws unless the checkpoint carries a vocabulary: `runtime` would load a model without
    /// one but could not turn its tokens into text, so no export writes such a file.
    func requireVocabulary(for runtime: String, output: String) throws {
        guard tokenizer.completeByteLevelVocabulary(nVocab: dims.nVocab) == nil else { return }
        throw FormatError(.unsupported, "\(provenance.path) carries no vocabulary (no tokenizer.json, vocabulary file or ggml vocabulary; "
                          + "n_vocab \(dims.nVocab) is no release's, so openai-whisper's cannot stand in): \(runtime) could load the "
                          + "model but not turn its tokens into text, so nothing was written", path: output)
    }
}

