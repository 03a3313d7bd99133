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

    public init(_ checkpoint: Checkpoint) throws {
        let weights = try WhisperWeights(checkpoint)
        dims = checkpoint.dims
        encoder = try AudioEncoder(weights)
        decoder = try TextDecoder(weights)
        mel = LogMelSpectrogram(filters: checkpoint.melFilters ?? MelFilters.slaney(nMels: checkpoint.dims.nMels))
        tokenizerResult = Result { try WhisperTokenizer(checkpoint) }
        generation = checkpoint.generation
    }

    /// The tokenizer; throws when the checkpoint carries none (its forward passes still work).
    public func tokenizer() throws -> WhisperTokenizer { try tokenizerResult.get() }
}
