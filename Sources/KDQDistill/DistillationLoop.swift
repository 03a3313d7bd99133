import Foundation
import KDQFormats
import KDQJSON
import KDQTensor
import KDQTrain

/// Trains a student on cached taught clips: epochs of shuffled minibatches (the order a function
/// of the seed and the epoch), warm-up then cosine decay, validation KL on held-back clips after
/// every epoch with early stopping (the best weights are kept), and a checkpoint every few steps
/// from which `run(resume: true)` continues to the same weights an uninterrupted run reaches.
public final class DistillationLoop {
    public let trainer: DistillationTrainer
    public let settings: DistillationSettings
    let cache: ClipCache
    /// Clips trained on, and held back for validation.
    public let trainIDs: [String], validationIDs: [String]
    /// Values of one clip's encoder output in the labels' cache (the teacher's encoder) and in
    /// the student's own (`studentEncoderCache`).
    let encoderValues: Int, studentEncoderValues: Int
    let padding: Int
    /// Where checkpoints go.
    public let checkpointPath: String
    /// The word error rate of the student at its current weights on the validation clips
    /// (measured after every epoch when set).
    public var validationWordErrors: ((_ clips: [TaughtClip]) throws -> Double)?
    /// The student's own (quantized) encoder outputs of every clip, when they differ from the
    /// teacher's (`StudentEncoderOutputs`); nil: both decoders attend to the teacher's.
    public var studentEncoderCache: ClipCache?
    /// A clip's log-mel window, when the student's encoder trains: the student then encodes
    /// it in every step (the teacher's cached output stays what its decoder reads).
    public var melWindow: ((String) throws -> [Float])?

    /// Loss after every step, and validation loss after every epoch.
    public private(set) var trainingCurve: [LossPoint] = []
    public private(set) var validationCurve: [LossPoint] = []
    public private(set) var step = 0
    /// Wall-clock seconds this training has spent in `run` (steps, validation, checkpoints),
    /// summed over every run of it: a resumed run continues the count its checkpoint carries.
    public private(set) var seconds: Double = 0
    var bestValidation = Double.infinity
    var bestState: [Float]?
    var epochsWithoutGain = 0

    /// Trains on the clips `train` of `cache`, validating on `validation`; checkpoints go to
    /// `checkpointPath` (default: beside the clips).
    public init(trainer: DistillationTrainer, settings: DistillationSettings, cache: ClipCache, train: [String], validation: [String],
                padding: Int, checkpointPath: String? = nil) throws {
        guard !train.isEmpty else { throw TrainingError("no training clips are left") }
        self.trainer = trainer
        self.settings = settings
        self.cache = cache
        trainIDs = train
        validationIDs = validation
        let teacherDims = trainer.teacher?.dims ?? trainer.student.dims
        encoderValues = teacherDims.nAudioCtx * teacherDims.nAudioState
        studentEncoderValues = trainer.student.dims.nAudioCtx * trainer.student.dims.nAudioState
        self.padding = padding
        self.checkpointPath = checkpointPath ?? cache.directory + "/training.checkpoint"
    }

    public var stepsPerEpoch: Int { (trainIDs.count + settings.batchSize - 1) / settings.batchSize }
    public var totalSteps: Int { stepsPerEpoch * settings.epochs }

    /// The clips of epoch `epoch` in training order.
    func order(_ epoch: Int) -> [String] {
        var rng = SplitMix64(seed: settings.seed &+ UInt64(epoch) &* 0x9E37_79B9)
        return trainIDs.shuffled(using: &rng)
    }

    /// Clips `ids` as the teacher labelled them, or (`own`) with the student's own encoder
    /// outputs when it has them.
    func clips(_ ids: [String], own: Bool = false) throws -> [TaughtClip] {
        var (source, values) = (cache, encoderValues)
        if own, let studentCache = studentEncoderCache { (source, values) = (studentCache, studentEncoderValues) }
        return try ids.map { id in
            guard let c = try source.load(id, encoderValues: values) else { throw TrainingError("clip \(id) is missing from \(source.directory)") }
            return c
        }
    }

    /// A batch of `ids` and what each model's decoder attends to.
    func load(_ ids: [String]) throws -> (TokenBatch, DistillationTrainer.Audio) {
        let taught = try clips(ids)
        let batch = try TokenBatch(taught, padding: padding)
        if let melWindow {
            return (batch, .melWithTeacherOutput(mel: try ids.flatMap { try melWindow($0) }, teacher: taught.flatMap(\.encoderOutput)))
        }
        guard studentEncoderCache != nil else { return (batch, .encoded(taught.flatMap(\.encoderOutput))) }
        return (batch, .encodedEach(student: try clips(ids, own: true).flatMap(\.encoderOutput), teacher: taught.flatMap(\.encoderOutput)))
    }

    /// Runs to the end (or until `shouldStop` says so after a step, leaving a checkpoint);
    /// `report` receives each step's result. Returns whether training finished.
    public func run(resume: Bool, shouldStop: () -> Bool = { false }, report: (Int, Int, DistillationTrainer.StepReport) -> Void = { _, _, _ in })
        throws -> Bool {
        if resume { try restore() }
        let schedule = LearningRateSchedule(peak: settings.learningRate, warmupSteps: settings.warmupSteps, totalSteps: totalSteps)
        let (secondsBefore, started) = (seconds, Date())
        let countTime = { self.seconds = secondsBefore + Date().timeIntervalSince(started) }
        while step < totalSteps {
            let epoch = step / stepsPerEpoch, within = step % stepsPerEpoch
            let ids = Array(order(epoch).dropFirst(within * settings.batchSize).prefix(settings.batchSize))
            let (batch, audio) = try load(ids)
            let r = try trainer.step(batch, audio: audio, learningRate: schedule.rate(at: step))
            step += 1
            trainingCurve.append(LossPoint(step: step, epoch: epoch, loss: r.loss))
            report(step, totalSteps, r)
            countTime()
            let epochDone = step % stepsPerEpoch == 0
            if epochDone {
                let stop = try validate(epoch: epoch)
                countTime()
                try saveCheckpoint()
                if stop { break }
            } else if step % settings.checkpointEvery == 0 {
                try saveCheckpoint()
            }
            if shouldStop() {
                try saveCheckpoint()
                return false
            }
        }
        if let bestState { try trainer.student.restoreTrainingState(bestState) }
        return true
    }

    /// The loss on the validation clips, averaged over their positions, at the current weights.
    public func validationLoss() throws -> LossComponents { try loss(of: validationIDs) }

    /// The loss on `ids` (in batches), averaged over their positions, at the current weights.
    func loss(of ids: [String]) throws -> LossComponents {
        var sum = LossComponents(), positions = 0
        for start in stride(from: 0, to: ids.count, by: settings.batchSize) {
            let (batch, audio) = try load(Array(ids[start..<min(ids.count, start + settings.batchSize)]))
            let l = try trainer.evaluate(batch, audio: audio)
            let n = Double(l.positions)
            sum.total += l.total * n
            sum.kl += l.kl * n
            sum.crossEntropy += l.crossEntropy * n
            sum.hidden += l.hidden * n
            positions += l.positions
        }
        let n = Double(max(1, positions))
        sum.total /= n; sum.kl /= n; sum.crossEntropy /= n; sum.hidden /= n
        sum.positions = positions
        return sum
    }

    /// Validation KL after `epoch`; true when training should stop early.
    func validate(epoch: Int) throws -> Bool {
        guard !validationIDs.isEmpty else { return false }
        let sum = try validationLoss()
        let wer = try validationWordErrors.map { measure in try measure(try clips(validationIDs, own: true)) }
        validationCurve.append(LossPoint(step: step, epoch: epoch, loss: sum, wer: wer))
        if sum.kl < bestValidation {
            bestValidation = sum.kl
            bestState = trainer.student.trainingState()
            epochsWithoutGain = 0
        } else {
            epochsWithoutGain += 1
        }
        return epochsWithoutGain >= settings.patience
    }

    /// The layer maps chosen so far, as JSON.
    public var historyJSON: JSONValue {
        .array(trainer.layerMapHistory.map { .object(["step": .number($0.step), "map": layerMapJSON($0.map)]) })
    }

    // MARK: checkpoints: a JSON header line, then the training state (f32, little-endian).

    func saveCheckpoint() throws {
        var header: JSONObject = ["step": .number(step), "optimizer_step": .number(trainer.optimizer.step), "seconds": .number(seconds),
                                  "best_validation_kl": bestValidation.isFinite ? .number(bestValidation) : .null,
                                  "epochs_without_gain": .number(epochsWithoutGain),
                                  "training_curve": .array(trainingCurve.map(\.json)),
                                  "validation_curve": .array(validationCurve.map(\.json))]
        header["has_best"] = .bool(bestState != nil)
        header["layer_map"] = layerMapJSON(trainer.layerMap)
        header["layer_map_history"] = historyJSON
        header["plan"] = planSignature.map { .string($0) } ?? .null
        var data = Data((JSONValue.object(header).serialized(pretty: false) + "\n").utf8)
        for state in [trainer.student.trainingState()] + (bestState.map { [$0] } ?? []) {
            state.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        try writeWhole(data, to: checkpointPath)
    }

    /// SHA-256 of the encodings trained through (a line `tensor=encoding` each, sorted), or nil without a plan.
    var planSignature: String? {
        trainer.fakeQuantization.map { fake in
            let lines = fake.plan.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.rawValue)\n" }.joined()
            return Array(lines.utf8).withUnsafeBytes { SHA256Hasher.hex($0) }
        }
    }

    /// Whether a checkpoint exists at `checkpointPath`.
    public var hasCheckpoint: Bool { FileManager.default.fileExists(atPath: checkpointPath) }

    /// Continues from the checkpoint at `checkpointPath` (what `run(resume: true)` does first).
    public func restore() throws {
        guard let data = FileManager.default.contents(atPath: checkpointPath) else {
            throw TrainingError("--resume: there is no checkpoint at \(checkpointPath)")
        }
        guard let newline = data.firstIndex(of: 0x0A) else { throw TrainingError("\(checkpointPath): no header line") }
        let header = try JSONValue.parse(String(decoding: data[..<newline], as: UTF8.self))
        // A checkpoint of training without a plan (compress's probe steps) continues under one;
        // one trained through another plan does not.
        if let saved = header["plan"]?.stringValue, saved != planSignature {
            throw TrainingError("\(checkpointPath) was trained through other encodings (another plan or size): "
                                + "remove it, or use another work directory, to train through these")
        }
        guard let s = header["step"]?.intValue, let o = header["optimizer_step"]?.intValue, s <= totalSteps else {
            throw TrainingError("\(checkpointPath): header lacks the step, or its step is past this run's \(totalSteps)")
        }
        let count = 3 * trainer.student.trainableCount
        let states = header["has_best"]?.boolValue == true ? 2 : 1
        let body = data[(newline + 1)...]
        guard body.count == states * count * 4 else {
            throw TrainingError("\(checkpointPath): \(body.count) bytes of state, expected \(states * count * 4) for this student and settings")
        }
        let floats = body.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        try trainer.student.restoreTrainingState(Array(floats[0..<count]))
        bestState = states == 2 ? Array(floats[count...]) : nil
        step = s
        seconds = header["seconds"]?.doubleValue ?? 0  // checkpoints before this count carried none
        trainer.optimizer.restore(step: o)
        try trainer.refreshQuantization()
        bestValidation = header["best_validation_kl"]?.doubleValue ?? .infinity
        epochsWithoutGain = header["epochs_without_gain"]?.intValue ?? 0
        if header["layer_map"] != nil { trainer.layerMap = layerMap(json: header["layer_map"]) }
        trainer.layerMapHistory = (header["layer_map_history"]?.arrayValue ?? []).compactMap { v in
            v["step"]?.intValue.map { ($0, layerMap(json: v["map"])) }
        }
        trainingCurve = try (header["training_curve"]?.arrayValue ?? []).map(LossPoint.init(json:))
        validationCurve = try (header["validation_curve"]?.arrayValue ?? []).map(LossPoint.init(json:))
    }
}
