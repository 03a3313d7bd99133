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

    /// Runs the unquantized model on `audio`, adding the inputs of its linear layers in the
    /// encoder pass and the teacher-forced decoder pass (not the greedy search) to `statistics`.
    init(model: WhisperModel, audio: [Float], options: DecodingOptions, statistics: inout ActivationStatistics) throws {
        var observed = statistics
        let observe: LinearInputObserver = { observed.add($0, $1, rows: $2) }
        let window = model.melWindow(audio)
        var hidden: [[Float]] = []
        let (input, output) = try model.observingLinearInputs(observe) {
            let x = try model.encoder.embed(window)
            return (x, try model.encoder.run(x, fromBlock: 0) { _, h in hidden.append(h) })
        }
        let sequence = try model.greedySequence(encoderOutput: output, options: options)
        var decoderStates: [[Float]] = []
        let (state, logits) = try model.observingLinearInputs(observe) {
            let state = try model.decoder.makeState(encoderOutput: output)
            let logits = try model.decoder.forward(sequence, state: model.decoder.makeState(reusingCrossAttentionOf: state), hiddenStates: { _, x in
                decoderStates.append(x)
            })
            return (state, logits)
        }
        mel = window
        embedded = input
        encoderOutput = output
        encoderHidden = hidden
        tokens = sequence
        crossState = state
        decoderHidden = decoderStates
        logProbabilities = LogitDivergence.logSoftmax(logits, vocab: model.dims.nVocab)
        statistics = observed
    }

    /// The residual stream entering encoder block `block`.
    func encoderInput(_ block: Int) -> [Float] { block == 0 ? embedded : encoderHidden[block - 1] }
}
