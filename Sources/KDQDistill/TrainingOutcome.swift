import KDQJSON

/// Whether training through the planned encodings improved on where it started: the student's
/// KL from the teacher on the calibration audio before training (its planned encodings of the
/// untrained weights; for the teacher's own depth, guided quantization alone) and after. `kdq
/// compress` keeps the lower, so compressing is never worse on that measure than not training.
/// With no recovery training asked for (`--epochs 0`) there is no trained KL and the untrained
/// student is written.
public struct TrainingOutcome: Sendable, Equatable {
    /// The student that was kept.
    public enum Kept: String, Sendable {
        case trained
        /// The untrained student in its planned encodings: training raised its KL, or none was asked for.
        case start
    }

    /// Mean KL (nats per token) of the untrained student in its planned encodings.
    public let startKL: Double
    /// Mean KL of the trained student; nil when it did not train (no epochs asked for).
    public let trainedKL: Double?

    public init(startKL: Double, trainedKL: Double?) {
        self.startKL = startKL
        self.trainedKL = trainedKL
    }

    /// Training is kept only when it lowered the KL.
    public var kept: Kept { trainedKL.map { $0 < startKL } == true ? .trained : .start }

    /// The KL of the student kept.
    public var keptKL: Double { min(startKL, trainedKL ?? startKL) }

    /// One sentence saying what was kept and why, with both KLs (4 decimals).
    public var summary: String {
        func f(_ x: Double) -> String { String(format: "%.4f", x) }
        guard let trainedKL else {
            return "no recovery training (0 epochs): the untrained student in its planned encodings was written, its KL from the teacher on the calibration audio \(f(startKL))"
        }
        return kept == .trained
            ? "training lowered the KL from the teacher on the calibration audio from \(f(startKL)) to \(f(trainedKL)): the trained student was written"
            : "training raised the KL from the teacher on the calibration audio from \(f(startKL)) to \(f(trainedKL)): the untrained student in the same encodings was written instead"
    }

    /// The outcome back from its JSON form (`compression.layer_map.student_depth.outcome`).
    public init?(json v: JSONValue?) {
        guard let start = v?["start_kl"]?.doubleValue, let trained = v?["trained_kl"] else { return nil }
        if trained == .null { self.init(startKL: start, trainedKL: nil); return }
        guard let kl = trained.doubleValue else { return nil }
        self.init(startKL: start, trainedKL: kl)
    }

    public var json: JSONValue {
        .object(["rule": "the trained student is kept only if its calibration KL from the teacher is lower than the untrained student's in the same encodings",
                 "start_kl": .number(startKL), "trained_kl": trainedKL.map { .number($0) } ?? .null, "kept": .string(kept.rawValue)])
    }
}
