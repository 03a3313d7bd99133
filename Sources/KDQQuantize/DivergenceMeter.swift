import KDQEngine

/// Mean next-token KL divergence of models from a reference model on the same clips: the
/// reference's transcript of each clip is teacher-forced through every model's decoder, on
/// that model's own encoder output, and the KL averaged over positions.
public final class DivergenceMeter {
    private var references: [String: (tokens: [Int], logP: [Float])] = [:]
    private var totals: [String: (kl: Double, positions: Int)] = [:]
    private let options: DecodingOptions

    public init(options: DecodingOptions) { self.options = options }

    /// Records the reference distributions of clip `id`: `text` (the reference model's
    /// transcript) teacher-forced through `model` on `encoderOutput`.
    public func addReference(id: String, model: WhisperModel, encoderOutput: [Float], text: String) throws {
        let tokens = try model.teacherSequence(text: text, options: options)
        let logits = try model.decoder.forward(tokens, state: try model.decoder.makeState(encoderOutput: encoderOutput))
        references[id] = (tokens, LogitDivergence.logSoftmax(logits, vocab: model.dims.nVocab))
    }

    /// Adds clip `id` for the model named `name` (same vocabulary as the reference, or a trimmed
    /// copy of it: the reference's tokens are then forced up to the first one the model lacks);
    /// clips without a reference are skipped.
    public func add(id: String, name: String, model: WhisperModel, encoderOutput: [Float]) throws {
        guard let ref = references[id] else { return }
        guard ref.logP.count == ref.tokens.count * model.dims.nVocab else {
            throw QuantizeError("model '\(name)' has a vocabulary of \(model.dims.nVocab), unlike the reference; KL needs the same one")
        }
        let forcible = model.decoder.forciblePrefix(of: ref.tokens)
        guard !forcible.isEmpty else { return }
        let logits = try model.decoder.forward(forcible, state: try model.decoder.makeState(encoderOutput: encoderOutput))
        let d = LogitDivergence.summed(reference: ref.logP, candidate: logits, vocab: model.dims.nVocab)
        totals[name, default: (0, 0)].kl += d.total
        totals[name, default: (0, 0)].positions += d.rows
    }

    /// Each model's mean KL (nats per position) over the clips it was given.
    public var meanKL: [String: Double] {
        totals.mapValues { $0.positions == 0 ? 0 : $0.kl / Double($0.positions) }
    }
}
