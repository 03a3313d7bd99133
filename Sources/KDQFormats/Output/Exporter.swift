/// The export targets and their writers.
public enum ExportTarget: String, CaseIterable, Sendable {
    /// A whisper.cpp model file.
    case ggml
    /// A faster-whisper / CTranslate2 model directory.
    case ct2
    /// A Hugging Face transformers directory.
    case hf

    /// Writes `checkpoint` to `path` in this format.
    public func write(_ checkpoint: Checkpoint, to path: String) throws -> ExportReport {
        switch self {
        case .ggml: return try GGMLWriter.write(checkpoint, to: path)
        case .ct2: return try CT2Writer.write(checkpoint, toDirectory: path)
        case .hf: return try HuggingFaceWriter.write(checkpoint, toDirectory: path)
        }
    }
}
