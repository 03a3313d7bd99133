import ArgumentParser
import KDQDistill
import KDQTrain

/// The hyperparameters of a distillation run, shared by `kdq distill` and `kdq compress`.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Passes over the training clips (kdq distill: at least 1; kdq compress: 0 writes the chosen student untrained, in its planned encodings).")
    var epochs: Int = 4

    @Option(help: "Clips per step.")
    var batch: Int = 8

    @Option(help: "Peak learning rate.")
    var lr: Double = 3e-4

    @Option(help: "Warm-up steps.")
    var warmup: Int = 20

    @Option(help: "Weight of the teacher terms (the paper: 0.9).")
    var alpha: Double = 0.9

    @Option(help: "Weight of the hidden-state term.")
    var beta: Double = 0

    @Option(help: "KL temperature.")
    var temperature: Double = 1

    @Flag(help: "Divide the hidden-state MSE by the teacher state's mean square.")
    var normalizeHidden = false

    @Option(help: "Hidden-state layer map: fixed (each student block to the teacher block it was copied from) or dynamic (re-chosen every step: the closest teacher block, the map increasing — the paper's guided matching).")
    var matching: Matching = .fixed

    @Flag(help: "Train the token and positional embeddings too.")
    var trainEmbeddings = false

    @Flag(help: "Train the encoder's blocks and final norm too (through their planned encodings under QAT), on each clip's log-mel window: the student runs its encoder forward and backward in every step (about 260 GFLOP a clip for base, and its activations: ~0.7 GB a clip), the teacher's encoder output stays cached.")
    var trainEncoder = false

    @Option(help: "Write a checkpoint every N steps.")
    var checkpointEvery: Int = 50

    @Option(help: "Stop after this many epochs without a better validation KL.")
    var patience: Int = 2

    @Option(help: "Seed of the clip order.")
    var seed: UInt64 = 1

    func validate() throws {
        guard epochs >= 0, batch >= 1, checkpointEvery >= 1, patience >= 1 else {
            throw ValidationError("--batch, --checkpoint-every and --patience must be at least 1, --epochs at least 0")
        }
        guard lr > 0, (0...1).contains(alpha), beta >= 0, temperature > 0 else {
            throw ValidationError("--lr and --temperature must be positive, --alpha within 0…1, --beta at least 0")
        }
        if matching == .dynamic, beta == 0 { throw ValidationError("--matching dynamic matches hidden states: give --beta > 0") }
    }

    /// The settings these options give.
    var settings: DistillationSettings {
        var s = DistillationSettings()
        s.epochs = epochs
        s.batchSize = batch
        s.learningRate = lr
        s.warmupSteps = warmup
        s.objective = DistillationObjective(alpha: alpha, beta: beta, temperature: temperature, normalizeHidden: normalizeHidden)
        s.trainEmbeddings = trainEmbeddings
        s.trainEncoder = trainEncoder
        s.dynamicMatching = matching == .dynamic
        s.checkpointEvery = checkpointEvery
        s.patience = patience
        s.seed = seed
        return s
    }
}

/// How the hidden-state term pairs student and teacher blocks.
enum Matching: String, ExpressibleByArgument, CaseIterable { case fixed, dynamic }
