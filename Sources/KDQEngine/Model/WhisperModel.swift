import KDQFormats

/// A Whisper model ready to run: weights decoded once, encoder, decoder, mel front end and
/// tokenizer from the checkpoint.
public final class WhisperModel: @unchecked Sendable {
    public let dims: ModelDims
    public let encoder: AudioEncoder
    public let decoder: TextDecoder
    public let mel: LogMelSpectrogram
    private let tokenizerResult: Result<WhisperTokenizer, Error>
    public let generation: GenerationSettings
    private let weights: WhisperWeights

    public init(_ checkpoint: Checkpoint) throws {
        weights = try WhisperWeights(checkpoint)
        dims = checkpoint.dims
        encoder = try AudioEncoder(weights)
        decoder = try TextDecoder(weights)
        mel = LogMelSpectrogram(filters: checkpoint.melFilters ?? MelFilters.slaney(nMels: checkpoint.dims.nMels))
        tokenizerResult = Result { try WhisperTokenizer(checkpoint) }
        generation = checkpoint.generation
    }

    /// Runs `body` with tensor `name` replaced by `values` (f32, its element count), then
    /// restores it: how one tensor's quantization is measured without a second model. Not
    /// safe to overlap with other work on this model.
    public func withTensor<T>(_ name: String, replacedBy values: [Float], _ body: () throws -> T) throws -> T {
        try weights.withValues(name, values, body)
    }

    /// Runs `body` with `observer` receiving the input of every linear layer (convolutions as
    /// their unfolded rows, the logits projection under the token embedding's name): the
    /// activation statistics that weight quantization error. Not safe to overlap with other
    /// work on this model.
    public func observingLinearInputs<T>(_ observer: @escaping LinearInputObserver, _ body: () throws -> T) rethrows -> T {
        weights.linearInputObserver = observer
        defer { weights.linearInputObserver = nil }
        return try body()
    }

    /// The tokenizer; throws when the checkpoint carries none (its forward passes still work).
    public func tokenizer() throws -> WhisperTokenizer { try tokenizerResult.get() }
}
