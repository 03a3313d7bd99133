/// Teacher-forced forward passes with every layer's output, for measuring what compression
/// does to a model (hidden-state errors, logit divergence) and for training.
public struct ForwardResult: Sendable {
    /// The residual stream after each encoder block (`n_audio_ctx × n_audio_state` each).
    public let encoderHidden: [[Float]]
    /// The encoder output (after the final layer norm).
    public let encoderOutput: [Float]
    /// The residual stream after each decoder block (`tokens × n_text_state` each).
    public let decoderHidden: [[Float]]
    /// Logits for every token position (`tokens × n_vocab`).
    public let logits: [Float]
    /// Each decoder block's cross-attention weights over the encoder output, averaged over its
    /// heads (`tokens × n_audio_ctx`); empty unless asked for.
    public var crossAttention: [[Float]] = []
}

extension WhisperModel {
    /// Runs the encoder on a mel window (`n_mels × 3000`) and the decoder on `tokens`;
    /// with `keepHidden` false, the per-layer outputs are left empty; with `keepCrossAttention`,
    /// every decoder block's head-averaged cross-attention weights are kept.
    public func forward(mel: [Float], tokens: [Int], keepHidden: Bool = true, keepCrossAttention: Bool = false) throws -> ForwardResult {
        var encoderHidden: [[Float]] = []
        let encoded = try encoder.encode(mel) { _, x in if keepHidden { encoderHidden.append(x) } }
        var decoderHidden: [[Float]] = [], crossAttention: [[Float]] = []
        let state = try decoder.makeState(encoderOutput: encoded)
        let logits = try decoder.forward(tokens, state: state, crossAttention: keepCrossAttention ? { _, a in crossAttention.append(a) } : nil,
                                         hiddenStates: { _, x in if keepHidden { decoderHidden.append(x) } })
        var result = ForwardResult(encoderHidden: encoderHidden, encoderOutput: encoded, decoderHidden: decoderHidden, logits: logits)
        result.crossAttention = crossAttention
        return result
    }

    /// `forward` for a batch of utterances, in order.
    public func forward(batch: [(mel: [Float], tokens: [Int])], keepHidden: Bool = true) throws -> [ForwardResult] {
        try batch.map { try forward(mel: $0.mel, tokens: $0.tokens, keepHidden: keepHidden) }
    }

    /// The token sequence a greedy decoding of one window produces, as teacher forcing wants
    /// it: the start-of-transcript prompt, the sampled tokens and end of text.
    public func greedySequence(encoderOutput: [Float], options: DecodingOptions = DecodingOptions()) throws -> [Int] {
        var options = options
        options.beamSize = 1
        let decoder = WindowDecoder(model: self, options: options)
        let result = try decoder.decode(encoderOutput: encoderOutput)
        let tk = try tokenizer()
        return try decoder.prompt(tk) + result.tokens + [tk.endOfText]
    }

    /// The sequence that teacher-forces `text` as a transcript: the prompt of `options`, the
    /// text's tokens (after a leading space, as Whisper writes them) and end of text.
    public func teacherSequence(text: String, options: DecodingOptions = DecodingOptions()) throws -> [Int] {
        let tk = try tokenizer()
        let body = text.isEmpty ? [] : try tk.encode(" " + text)
        return try WindowDecoder(model: self, options: options).prompt(tk) + body + [tk.endOfText]
    }

    /// `melWindow` of the audio file at `path` (its first 30 seconds).
    public func melWindow(ofFile path: String) throws -> [Float] {
        melWindow(try AudioLoader.load(path))
    }

    /// The 30-second log-mel window openai-whisper decodes for a clip of at most 30 s (the
    /// audio padded with silence), as `n_mels × 3000`.
    public func melWindow(_ samples: [Float]) -> [Float] {
        var padded = Array(samples.prefix(LogMelSpectrogram.windowSamples))
        padded += [Float](repeating: 0, count: LogMelSpectrogram.windowSamples - padded.count)
        return mel.compute(padded)
    }
}
