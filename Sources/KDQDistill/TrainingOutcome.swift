import KDQJSON

/// Whether training through the planned encodings improved on where it started: the student's
/// KL from the teacher on the calibration audio before training (its planned encodings of the
/// untrained weights; for the teacher's own depth, guided quantization alone) and after. `kdq
/// compress` keeps the lower, so compressing is never worse on that measure than not training.
public struct TrainingOutcome: Sendable, Equatable {
    /// The student that was kept.
    public enum Kept: String, Sendable {
        case trained
        /// The untrained student in its planned encodings: training raised its KL.
        case start
    }

    /// Mean KL (nats per token) of the untrained student in its planned encodings.
    public let startKL: Double
    /// Mean KL of the trained student.
    public let trainedKL: Double

    public init(startKL: Double, trainedKL: Double) {
        self.startKL = startKL
        self.trainedKL = trainedKL
    }

    /// Training is kept only when it lowered the KL.
    public var kept: Kept { trainedKL < startKL ? .trained : .start }

    /// The KL of the student kept.
    public var keptKL: Double { min(startKL, trainedKL) }

    /// The outcome back from its JSON form (`compression.layer_map.student_depth.outcome`).
    public init?(json v: JSONValue?) {
        guard let start = v?["start_kl"]?.doubleValue, let trained = v?["trained_kl"]?.doubleValue else { return nil }
        self.init(startKL: start, trainedKL: trained)
    }

    public var json: JSONValue {
        .object(["rule": "the trained student is kept only if its calibration KL from the teacher is lower than the untrained student's in the same encodings",
                 "start_kl": .number(startKL), "trained_kl": .number(trainedKL), "kept": .string(kept.rawValue)])
    }
}
