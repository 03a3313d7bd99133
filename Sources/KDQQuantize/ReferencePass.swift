import KDQEngine

/// The unquantized model's activations on one calibration window, kept so that a tensor's
/// quantization can be measured by re-running only the layers after it.
struct ReferencePass {
    /// The window's log-mel (`n_mels × 3000`).
    let mel: [Float]
    /// The encoder's residual stream entering block 0 (after the convolutions and positions).
    let embedded: [Float]
    /// The residual stream after each encoder block.
    let encoderHidden: [[Float]]
    let encoderOutput: [Float]
    /// The greedy decoding of the window, teacher-forced: prompt, sampled tokens, end of text.
    let tokens: [Int]
    /// The residual stream after each decoder block for `tokens`.
    let decoderHidden: [[Float]]
    /// Log-probabilities of the next token at every position (`tokens × n_vocab`).
    let logProbabilities: [Float]
    /// The decoder state holding this window's cross-attention keys and values.
    let crossState: TextDecoder.State

    init(model: WhisperModel, audio: [Float], options: DecodingOptions) throws {
        mel = model.melWindow(audio)
        embedded = try model.encoder.embed(mel)
        var hidden: [[Float]] = []
        encoderOutput = try model.encoder.run(embedded, fromBlock: 0) { _, x in hidden.append(x) }
        encoderHidden = hidden
        tokens = try model.greedySequence(encoderOutput: encoderOutput, options: options)
        crossState = model.decoder.makeState(encoderOutput: encoderOutput)
        var decoderStates: [[Float]] = []
        let logits = try model.decoder.forward(tokens, state: model.decoder.makeState(reusingCrossAttentionOf: crossState)) { _, x in
            decoderStates.append(x)
        }
        decoderHidden = decoderStates
        logProbabilities = LogitDivergence.logSoftmax(logits, vocab: model.dims.nVocab)
    }

    /// The residual stream entering encoder block `block`.
    func encoderInput(_ block: Int) -> [Float] { block == 0 ? embedded : encoderHidden[block - 1] }
}
