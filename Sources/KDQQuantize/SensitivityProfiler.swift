import KDQAnalysis
import KDQEngine
import KDQFormats
import KDQTensor

/// Measures each tensor's sensitivity to each candidate encoding: quantize that tensor alone,
/// put its decoded values into the running model, re-run only the layers from it onward on
/// the calibration windows, and compare every layer's output and the next-token
/// distributions with the unquantized model's.
public final class SensitivityProfiler {
    let checkpoint: Checkpoint
    let model: WhisperModel
    let references: [ReferencePass]
    /// How candidates are encoded: `blocks`, weighted by this calibration's activations as
    /// `weighting` says.
    public let quantizer: TensorQuantizer

    /// Runs the unquantized model on the calibration windows (greedy decoding with `options`
    /// gives the token sequences the decoder is teacher-forced on), recording the inputs of
    /// its linear layers. With `covariance` weighting, the covariances of the layers the
    /// encoder's output feeds come from the calibration utterances, and the decoder's from
    /// `decoderCalibration` when given (`progress` gets its sequences done and their total).
    public init(checkpoint: Checkpoint, model: WhisperModel, calibration: CalibrationSet, options: DecodingOptions,
                blocks: BlockQuantizer, weighting: ErrorWeighting, decoderCalibration: DecoderCalibration? = nil,
                progress: ((Int, Int) -> Void)? = nil) throws {
        self.checkpoint = checkpoint
        self.model = model
        var statistics = ActivationStatistics()
        references = try calibration.windows.map { try ReferencePass(model: model, audio: $0, options: options, statistics: &statistics) }
        var decoderCovariances: DecoderCovariances?
        if weighting == .covariance {
            var observed = try Self.encoderCovariances(model, calibration)
            if let decoderCalibration {
                decoderCovariances = try decoderCalibration.observe(model, into: &observed, progress: progress)
            }
            statistics = statistics.withCovariances(of: observed)
        }
        quantizer = TensorQuantizer(blocks: blocks, statistics: weighting == .none ? nil : statistics, decoderCovariances: decoderCovariances)
    }

    /// The input covariances of the layers the encoder's output feeds, each calibration
    /// utterance in its own window padded with silence, as transcription runs it: GPTQ fitted
    /// to packed windows alone (speech in every frame) rounds the padding frames' inputs
    /// badly, and at 2 bits that broke decoding (docs/quantization.md).
    static func encoderCovariances(_ model: WhisperModel, _ calibration: CalibrationSet) throws -> ActivationStatistics {
        var observed = ActivationStatistics(covariances: true)
        for u in calibration.utterances where !u.samples.isEmpty {
            try model.observingLinearInputs({ observed.add($0, $1, rows: $2) }) {
                let output = try model.encoder.run(model.encoder.embed(model.melWindow(u.samples)), fromBlock: 0) { _, _ in }
                _ = try model.decoder.makeState(encoderOutput: output)
            }
        }
        return observed
    }

    /// Scored positions over all windows.
    public var positions: Int { references.reduce(0) { $0 + $1.tokens.count } }

    /// The profile of `tensors` (name → the encodings to consider besides the source).
    /// Every alternative's weight-space error is computed. With `measureAll` (the default),
    /// each one is also run through the model; otherwise only the last (narrowest) candidate
    /// is, and the others' KL is scaled from it by their ratio of squared weight error — KL
    /// grows with the square of a small perturbation. Every measurement `recorded` holds
    /// (checked against the weight error computed now) is taken from it instead of being run
    /// again. `progress` receives model runs done and the total.
    public func profile(_ tensors: [(name: String, candidates: [Encoding])], measureAll: Bool = true,
                        recorded: RecordedProfile? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> SensitivityProfile {
        try recorded?.checkCalibration(windows: references.count, positions: positions)
        let total = tensors.reduce(0) { $0 + (measureAll ? $1.candidates.count : min(1, $1.candidates.count)) }
        var done = 0
        var entries: [SensitivityProfile.Entry] = []
        for (name, candidates) in tensors {
            guard let t = checkpoint.tensor(named: name) else { throw QuantizeError("not in the checkpoint", tensor: name) }
            let source = try t.decodedFloats()
            var alternatives = [Sensitivity(encoding: t.encoding, bytes: QuantizationCandidates.bytes(of: t, in: t.encoding),
                                            weight: ErrorMetrics.compare(source, source), meanKL: 0)]
            var probe: Sensitivity?
            var unmeasured: [(Encoding, ErrorMetrics)] = []
            for (k, e) in candidates.enumerated() where e != t.encoding {
                let quantized: Tensor
                do { quantized = try quantizer.convert(name, t, to: e) } catch {
                    throw QuantizeError("cannot encode as \(e.rawValue): \(error)", tensor: name)
                }
                let values = try quantized.decodedFloats()
                let weight = ErrorMetrics.compare(source, values)
                let bytes = QuantizationCandidates.bytes(of: t, in: e)
                let counted = measureAll || k == candidates.count - 1
                let s: Sensitivity
                if let known = try recorded?.sensitivity(name, e, bytes: bytes, weight: weight) {
                    s = known
                } else {
                    guard counted else { unmeasured.append((e, weight)); continue }
                    s = try measure(name, values, encoding: e, bytes: bytes, weight: weight)
                }
                alternatives.append(s)
                probe = s
                if counted {
                    done += 1
                    progress?(done, total)
                }
            }
            for (e, weight) in unmeasured {
                let scale = probe.map { $0.weight.squaredError > 0 ? weight.squaredError / $0.weight.squaredError : 0 } ?? 0
                alternatives.append(Sensitivity(encoding: e, bytes: QuantizationCandidates.bytes(of: t, in: e), weight: weight,
                                                meanKL: probe?.meanKL.map { $0 * scale }, measured: false))
            }
            entries.append(.init(tensor: name, alternatives: alternatives.sorted { $0.bytes > $1.bytes }))
        }
        return SensitivityProfile(entries: entries, windows: references.count, positions: positions)
    }

    /// The mean next-token KL divergence of `candidate` (another model of the same dims, such
    /// as the quantized result) from the source model, on the same windows and tokens (a
    /// vocabulary-trimmed candidate's up to the first token it lacks).
    public func meanKL(of candidate: WhisperModel) throws -> Double {
        var kl = 0.0, rows = 0
        for ref in references {
            let forcible = candidate.decoder.forciblePrefix(of: ref.tokens)
            guard !forcible.isEmpty else { continue }
            let result = try candidate.forward(mel: ref.mel, tokens: forcible, keepHidden: false)
            let d = LogitDivergence.summed(reference: ref.logProbabilities, candidate: result.logits, vocab: candidate.dims.nVocab)
            kl += d.total
            rows += d.rows
        }
        return rows == 0 ? 0 : kl / Double(rows)
    }

    /// The activation-space effect of `values` in place of tensor `name`.
    func measure(_ name: String, _ values: [Float], encoding: Encoding, bytes: Int, weight: ErrorMetrics) throws -> Sensitivity {
        if weight.isExact { return Sensitivity(encoding: encoding, bytes: bytes, weight: weight, meanKL: 0) }
        let dims = model.dims
        let start = Self.firstAffectedEncoderBlock(name, layers: dims.nAudioLayer)
        var encoderChanges = [ErrorMetrics](repeating: ErrorMetrics(), count: dims.nAudioLayer)
        var outputChange = ErrorMetrics()
        var decoderChanges = [ErrorMetrics](repeating: ErrorMetrics(), count: dims.nTextLayer)
        var kl = 0.0, rows = 0
        try model.withTensor(name, replacedBy: values) {
            for ref in references {
                var encoded = ref.encoderOutput
                if let start {
                    let reEmbed = start == 0 && !name.hasPrefix("encoder.blocks.")
                    let input = reEmbed ? try model.encoder.embed(ref.mel) : ref.encoderInput(start)
                    encoded = try model.encoder.run(input, fromBlock: start) { i, x in
                        encoderChanges[i].merge(ErrorMetrics.compare(ref.encoderHidden[i], x))
                    }
                    outputChange.merge(ErrorMetrics.compare(ref.encoderOutput, encoded))
                }
                let state = start != nil || Self.changesCrossAttention(name)
                    ? try model.decoder.makeState(encoderOutput: encoded)
                    : model.decoder.makeState(reusingCrossAttentionOf: ref.crossState)
                let logits = try model.decoder.forward(ref.tokens, state: state, hiddenStates: { l, x in
                    decoderChanges[l].merge(ErrorMetrics.compare(ref.decoderHidden[l], x))
                })
                let d = LogitDivergence.summed(reference: ref.logProbabilities, candidate: logits, vocab: dims.nVocab)
                kl += d.total
                rows += d.rows
            }
        }
        return Sensitivity(encoding: encoding, bytes: bytes, weight: weight, meanKL: rows == 0 ? 0 : kl / Double(rows),
                           encoderLayers: encoderChanges.map(\.relativeError),
                           encoderOutput: start == nil ? 0 : outputChange.relativeError,
                           decoderLayers: decoderChanges.map(\.relativeError))
    }

    /// The encoder block from which a change to `name` must be re-run: its own block, 0 for
    /// the convolutions and positions, the block count for the final norm; nil for decoder tensors.
    static func firstAffectedEncoderBlock(_ name: String, layers: Int) -> Int? {
        guard name.hasPrefix("encoder.") else { return nil }
        let parts = name.split(separator: ".")
        if parts.count > 2, parts[1] == "blocks", let block = Int(parts[2]) { return block }
        return name.hasPrefix("encoder.ln_post") ? layers : 0
    }

    /// True for decoder tensors that the cross-attention keys and values are computed with.
    static func changesCrossAttention(_ name: String) -> Bool {
        name.contains(".cross_attn.key.") || name.contains(".cross_attn.value.")
    }
}
