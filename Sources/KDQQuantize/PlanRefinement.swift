import KDQFormats
import KDQJSON
import KDQTensor

/// The allocator's choice for the model's largest tensor, checked on the whole model. The
/// allocation minimizes the sum of one-tensor-at-a-time KLs, which holds from about 4 bits up;
/// below it the errors interact, and most of all for the largest tensor (Whisper's token
/// embedding, a third of a 3–4-bit base, both the decoder's input and its output projection).
/// So the largest tensor's encoding is moved one step at a time, narrower and wider, the rest
/// re-planned by the allocator around it, and each whole plan's mean KL from the source is
/// measured on the calibration windows; the plan with the lowest measured KL is kept.
public struct PlanRefinement: Sendable, Equatable {
    /// One plan tried: the largest tensor in `encoding`, the rest allocated around it.
    public struct Trial: Sendable, Equatable {
        public let encoding: Encoding
        public let tensorBytes: Int
        /// The allocator's summed one-at-a-time KL of the plan.
        public let predictedKL: Double
        /// The whole quantized model's mean KL from the source on the calibration windows.
        public let measuredKL: Double
    }

    public let tensor: String
    /// The allocator's own choice (the first trial).
    public let planned: Encoding
    /// Every plan measured, in the order tried.
    public let trials: [Trial]
    /// The trial with the lowest measured KL.
    public let chosen: Encoding

    /// Bytes the record may take in the manifest (a plan made for a refined archive leaves them free).
    public static let recordAllowance = 1_536

    /// The refined plan and its record, or nil when `plan` has no unpinned tensor with
    /// alternatives. `makePlan(restricting)` re-plans with the largest tensor restricted to one
    /// encoding (a budget it cannot meet ends that direction); `measure` gives a plan's
    /// whole-model mean KL; `progress` gets the trials done.
    public static func refine(_ c: Checkpoint, plan: QuantizationPlan, profile: SensitivityProfile,
                              makePlan: ([String: Encoding]) throws -> QuantizationPlan,
                              measure: (QuantizationPlan) throws -> Double,
                              progress: (Int) -> Void = { _ in }) throws -> (plan: QuantizationPlan, record: PlanRefinement)? {
        let sizes = Dictionary(uniqueKeysWithValues: c.tensors.map { ($0.name, $0.tensor.elementCount) })
        let eligible = plan.choices.filter { !$0.pinned && (profile.entry($0.tensor)?.alternatives.count ?? 0) >= 2 }
        guard let largest = eligible.max(by: { sizes[$0.tensor, default: 0] < sizes[$1.tensor, default: 0] }),
              let entry = profile.entry(largest.tensor) else { return nil }
        let options = entry.alternatives.sorted { $0.bytes < $1.bytes }.map(\.encoding)
        guard let start = options.firstIndex(of: largest.chosen) else { return nil }

        func trial(_ p: QuantizationPlan, _ e: Encoding) throws -> Trial {
            let kl = try measure(p)
            return Trial(encoding: e, tensorBytes: p.tensorBytes, predictedKL: p.predictedKL ?? 0, measuredKL: kl)
        }
        var trials = [try trial(plan, largest.chosen)]
        progress(trials.count)
        var best = (plan: plan, trial: trials[0])
        for direction in [-1, 1] {
            var i = start + direction
            while options.indices.contains(i) {
                let candidate: QuantizationPlan
                do { candidate = try makePlan([largest.tensor: options[i]]) } catch is QuantizeError { break }
                let t = try trial(candidate, options[i])
                trials.append(t)
                progress(trials.count)
                guard t.measuredKL < best.trial.measuredKL else { break }
                best = (candidate, t)
                i += direction
            }
            if best.trial.encoding != largest.chosen { break }  // improved narrower: no need to look wider
        }
        return (best.plan, PlanRefinement(tensor: largest.tensor, planned: largest.chosen, trials: trials, chosen: best.trial.encoding))
    }

    /// `compression.encodings.refinement` (formats/kdq.md §3).
    public var json: JSONValue {
        .object([
            "rule": "the largest tensor's encoding moved one step at a time, the rest re-planned around it; the plan with the lowest measured whole-model mean KL on the calibration windows kept",
            "tensor": .string(tensor), "planned": .string(planned.rawValue), "chosen": .string(chosen.rawValue),
            "trials": .array(trials.map { t in
                .object(["encoding": .string(t.encoding.rawValue), "tensor_bytes": .number(t.tensorBytes),
                         "predicted_kl": QuantizationRecord.finite(t.predictedKL), "measured_kl": QuantizationRecord.finite(t.measuredKL)])
            }),
        ])
    }
}

extension PlanRefinement {
    /// Reads the record `json` writes.
    public init(json: JSONValue) throws {
        func encoding(_ v: JSONValue?) throws -> Encoding {
            guard let e = v?.stringValue.flatMap(Encoding.init(rawValue:)) else {
                throw QuantizeError("compression.encodings.refinement names no known encoding where one is expected: \(v.map { $0.serialized(pretty: false) } ?? "nothing")")
            }
            return e
        }
        guard let o = json.objectValue, let tensor = o["tensor"]?.stringValue, let trials = o["trials"]?.arrayValue else {
            throw QuantizeError("compression.encodings.refinement needs a tensor and its trials")
        }
        self.tensor = tensor
        planned = try encoding(o["planned"])
        chosen = try encoding(o["chosen"])
        self.trials = try trials.map { t in
            guard let bytes = t["tensor_bytes"]?.intValue else { throw QuantizeError("a refinement trial has no tensor_bytes") }
            return Trial(encoding: try encoding(t["encoding"]), tensorBytes: bytes, predictedKL: t["predicted_kl"]?.doubleValue ?? .nan,
                         measuredKL: t["measured_kl"]?.doubleValue ?? .nan)
        }
    }
}
