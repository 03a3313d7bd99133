import KDQJSON
import KDQTrain

/// Hyperparameters of a distillation run (recorded in the archive).
public struct DistillationSettings: Sendable, Equatable {
    public var epochs = 4
    public var batchSize = 8
    public var learningRate = 3e-4
    public var warmupSteps = 20
    public var weightDecay = 0.01
    public var maxGradientNorm = 1.0
    public var objective = DistillationObjective(alpha: 0.9, beta: 0, temperature: 1)
    /// Write a checkpoint every this many steps (and at the end of every epoch).
    public var checkpointEvery = 50
    /// Order of clips in each epoch.
    public var seed: UInt64 = 1
    /// Stop when validation KL has not improved for this many epochs.
    public var patience = 2
    /// Whether the token and positional embeddings train too (else only the blocks and final norm).
    public var trainEmbeddings = false
    /// Whether the student's encoder blocks and final norm train too (through their planned
    /// encodings under QAT), on log-mel windows of the clips; the convolutions stay frozen.
    public var trainEncoder = false
    /// Re-choose the hidden-state layer map every step (the paper's guided matching).
    public var dynamicMatching = false

    public init() {}

    public var json: JSONValue {
        .object([
            "epochs": .number(epochs), "batch_size": .number(batchSize), "learning_rate": .number(learningRate),
            "warmup_steps": .number(warmupSteps), "weight_decay": .number(weightDecay), "max_gradient_norm": .number(maxGradientNorm),
            "alpha": .number(objective.alpha), "beta": .number(objective.beta), "temperature": .number(objective.temperature),
            "normalize_hidden": .bool(objective.normalizeHidden), "seed": .number(Double(seed)), "patience": .number(patience),
            "train_embeddings": .bool(trainEmbeddings), "train_encoder": .bool(trainEncoder), "layer_matching": .string(dynamicMatching ? "dynamic" : "fixed"), "schedule": .string("linear warm-up, cosine decay to 0"),
        ])
    }
}

/// One point of a loss curve.
public struct LossPoint: Sendable, Equatable {
    public let step: Int
    public let epoch: Int
    public let loss: LossComponents
    /// Word error rate of the student's greedy transcripts against the clips' labels
    /// (validation points only).
    public let wer: Double?

    public var json: JSONValue {
        var o: JSONObject = ["step": .number(step), "epoch": .number(epoch), "total": .number(loss.total),
                             "cross_entropy": .number(loss.crossEntropy), "kl": .number(loss.kl), "hidden": .number(loss.hidden),
                             "positions": .number(loss.positions)]
        if let wer, wer.isFinite { o["wer"] = .number(wer) }
        return .object(o)
    }

    init(step: Int, epoch: Int, loss: LossComponents, wer: Double? = nil) {
        self.step = step
        self.epoch = epoch
        self.loss = loss
        self.wer = wer
    }

    /// The point back from its JSON form.
    public init(json v: JSONValue) throws {
        guard let step = v["step"]?.intValue, let epoch = v["epoch"]?.intValue else { throw TrainingError("bad loss point \(v)") }
        var l = LossComponents()
        l.total = v["total"]?.doubleValue ?? 0
        l.crossEntropy = v["cross_entropy"]?.doubleValue ?? 0
        l.kl = v["kl"]?.doubleValue ?? 0
        l.hidden = v["hidden"]?.doubleValue ?? 0
        l.positions = v["positions"]?.intValue ?? 0
        self.init(step: step, epoch: epoch, loss: l, wer: v["wer"]?.doubleValue)
    }
}

/// A layer map's JSON form: [[student, teacher], …].
func layerMapJSON(_ map: [Int: Int]) -> JSONValue {
    .array(map.sorted { $0.key < $1.key }.map { .array([.number($0.key), .number($0.value)]) })
}

/// The map back from `layerMapJSON`.
func layerMap(json: JSONValue?) -> [Int: Int] {
    Dictionary((json?.arrayValue ?? []).compactMap { pair -> (Int, Int)? in
        guard let a = pair.arrayValue, a.count == 2, let s = a[0].intValue, let t = a[1].intValue else { return nil }
        return (s, t)
    }, uniquingKeysWith: { a, _ in a })
}
