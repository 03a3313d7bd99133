import KDQAnalysis
import KDQJSON
import KDQTensor

/// The `.kdq` manifest's record of a quantization (formats/kdq.md §3): the plan with every
/// tensor's alternatives (`compression.encodings`), the per-layer sensitivity profile
/// (`compression.error_profiles`) and the end-to-end check (`compression.evaluation`).
public enum QuantizationRecord {
    /// How the calibration was done, for the record.
    public struct Calibration: Sendable {
        public let manifest: String
        public let utterances: Int
        public let windows: Int
        /// `packed` or `single` (CalibrationSet.Windows).
        public let layout: String
        public let positions: Int

        public init(manifest: String, utterances: Int, windows: Int, layout: String, positions: Int) {
            self.manifest = manifest
            self.utterances = utterances
            self.windows = windows
            self.layout = layout
            self.positions = positions
        }
    }

    /// `compression.encodings`: method, quantizer and its error weighting, budget, and per
    /// tensor the chosen encoding with each measured alternative's bytes and losses.
    public static func encodings(_ plan: QuantizationPlan, profile: SensitivityProfile?, quantizer: TensorQuantizer,
                                 calibration: Calibration?, refinement: PlanRefinement? = nil) -> JSONValue {
        var tensors = JSONObject()
        for c in plan.choices where c.chosen != c.source || c.pinned || profile?.entry(c.tensor) != nil {
            var t: JSONObject = ["source": .string(c.source.rawValue), "chosen": .string(c.chosen.rawValue),
                                 "bytes": .number(c.bytes), "pinned": .bool(c.pinned)]
            if let entry = profile?.entry(c.tensor) { t["alternatives"] = alternatives(entry) }
            tensors[c.tensor] = .object(t)
        }
        var budget = JSONObject()
        budget["target_bytes"] = plan.budgetBytes.map { .number($0) } ?? .null
        budget["rule"] = plan.budget.map { .string($0.description) } ?? .null
        budget["source_bytes"] = .number(plan.sourceBytes)
        budget["tensor_bytes"] = .number(plan.tensorBytes)
        budget["bits_per_weight"] = finite(plan.bitsPerWeight)
        var record: JSONObject = ["method": .string(plan.method.rawValue), "quantizer": .string(quantizer.blocks.rawValue),
                                  "weighting": .string(quantizer.weighting.rawValue),
                                  "loss": "mean next-token KL divergence (nats) from the source model, one tensor quantized at a time; where kl_measured is false, scaled from the tensor's measured encoding by the ratio of squared weight errors",
                                  "budget": .object(budget), "predicted_kl": finite(plan.predictedKL)]
        record["calibration"] = calibration.map(json) ?? .null
        if let d = quantizer.decoderCovariances { record["decoder_covariances"] = d.json }
        record["tensors"] = .object(tensors)
        if let refinement { record["refinement"] = refinement.json }
        return .object(record)
    }

    /// Each alternative of `entry`: bytes, KL (measured or scaled) and weight-space errors.
    static func alternatives(_ entry: SensitivityProfile.Entry) -> JSONValue {
        var alternatives = JSONObject()
        for a in entry.alternatives {
            alternatives[a.encoding.rawValue] = .object([
                "bytes": .number(a.bytes), "mean_kl": finite(a.meanKL), "kl_measured": .bool(a.measured), "rmse": finite(a.weight.rmse),
                "relative_error": finite(a.weight.relativeError), "snr_db": finite(a.weight.snrDecibels),
                "cosine": finite(a.weight.cosine),
            ])
        }
        return .object(alternatives)
    }

    /// A profile on its own, without a plan, in the form of a guided archive's `compression`
    /// record (`encodings.tensors.*.alternatives` and `error_profiles`): what `RecordedProfile`
    /// reads back, so a measured profile can be kept and reused (as `kdq compress` does in its
    /// work directory).
    public static func profileRecord(_ profile: SensitivityProfile) -> JSONObject {
        let tensors = JSONObject(profile.entries.map { ($0.tensor, JSONValue.object(["alternatives": alternatives($0)])) })
        return ["encodings": .object(["tensors": .object(tensors)]), "error_profiles": errorProfiles(profile)]
    }

    /// `compression.error_profiles`: per profiled tensor and alternative, the relative change
    /// of every encoder block, the encoder output and every decoder block.
    public static func errorProfiles(_ profile: SensitivityProfile) -> JSONValue {
        var tensors = JSONObject()
        for entry in profile.entries {
            var alternatives = JSONObject()
            for a in entry.alternatives.dropFirst() where a.measured {
                alternatives[a.encoding.rawValue] = .object([
                    "encoder_layers": .array(a.encoderLayers.map(finite)), "encoder_output": finite(a.encoderOutput),
                    "decoder_layers": .array(a.decoderLayers.map(finite)), "mean_kl": finite(a.meanKL),
                ])
            }
            tensors[entry.tensor] = .object(alternatives)
        }
        return .object(["metric": "relative L2 change of each layer's output, one tensor quantized at a time",
                        "windows": .number(profile.windows), "positions": .number(profile.positions), "tensors": .object(tensors)])
    }

    /// `compression.evaluation`: the quantized model against the source on the calibration set.
    public static func evaluation(calibration: Calibration, meanKL: Double, sourceWords: EditCounts, quantizedWords: EditCounts) -> JSONValue {
        evaluation(calibration, meanKL: meanKL, sourceWER: sourceWords.rate, quantizedWER: quantizedWords.rate,
                   referenceWords: sourceWords.referenceLength)
    }

    /// The longest evaluation record `calibration` can give, for sizing an archive before it is
    /// measured: every number as wide as JSON writes one (17 significant digits and a
    /// three-digit exponent; the largest integer).
    public static func widestEvaluation(calibration: Calibration) -> JSONValue {
        let widest = 2.2250738585072014e-308
        return evaluation(calibration, meanKL: widest, sourceWER: widest, quantizedWER: widest, referenceWords: Int.max)
    }

    static func evaluation(_ calibration: Calibration, meanKL: Double, sourceWER: Double, quantizedWER: Double, referenceWords: Int) -> JSONValue {
        .object(["calibration": json(calibration), "mean_kl": finite(meanKL), "source_wer": finite(sourceWER),
                 "quantized_wer": finite(quantizedWER), "reference_words": .number(referenceWords)])
    }

    static func json(_ c: Calibration) -> JSONValue {
        .object(["manifest": .string(c.manifest), "utterances": .number(c.utterances), "windows": .number(c.windows), "layout": .string(c.layout),
                 "positions": .number(c.positions)])
    }

    /// A number, or null when it is missing or not finite (JSON has no infinities).
    static func finite(_ d: Double?) -> JSONValue {
        guard let d, d.isFinite else { return .null }
        return .number(d)
    }
}
