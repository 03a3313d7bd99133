import KDQFormats
import KDQTensor
import Testing
@testable import KDQTrain

/// The whole decoder and the whole encoder of the random fixture model against central finite
/// differences of the full distillation objective (CE + KL at T = 2 + normalized hidden-state
/// loss through an adapter), tensor by tensor.
@Suite(.serialized) struct ModelGradientTests {
    static let tolerance = 5e-3

    /// A student (the fixture, plus an adapter for layer 0) whose tensors matching `trainable`
    /// learn, and a teacher (the fixture's q4_0 copy: different weights, same shapes).
    static func makeTrainer(trainable: @escaping (String) -> Bool) throws -> DistillationTrainer {
        let checkpoint = try Checkpoint.open(TrainFixtures.randomModel)
        let adapters = try HiddenStateLoss.adapterTensors(layer: 0, studentWidth: 64, teacherWidth: 64)
        let student = try ParameterStore(dims: checkpoint.dims, tensors: checkpoint.tensors + adapters, trainable: trainable)
        // Move the adapter off the identity so its gradient is not special.
        let w = try student.value("adapter.0.weight")
        for (i, r) in randomValues(64 * 64, scale: 0.05, seed: 21).enumerated() { w[i] += r }
        let teacher = try ParameterStore(try Checkpoint.open(TrainFixtures.randomModelQ4)) { _ in false }
        return try DistillationTrainer(student: student, teacher: teacher,
                                       objective: DistillationObjective(alpha: 0.7, beta: 0.5, temperature: 2, normalizeHidden: true),
                                       layerMap: [0: 0, 1: 1])
    }

    /// `sequences` of 6 tokens; the first position of each is a prompt, the last of the second padding.
    static func batch(_ sequences: Int) throws -> TokenBatch {
        let tokens = randomValues(6 * sequences, seed: 22).map { Int32(abs($0) * 1023) }
        var targets = randomValues(6 * sequences, seed: 23).map { Int32(abs($0) * 1023) }
        for s in 0..<sequences { targets[6 * s] = -1 }
        if sequences > 1 { targets[11] = -1 }
        return try TokenBatch(batch: sequences, length: 6, tokens: tokens, targets: targets)
    }

    func check(_ trainer: DistillationTrainer, _ audio: DistillationTrainer.Audio, sequences: Int, names: [String]) throws {
        let batch = try Self.batch(sequences)
        _ = try trainer.computeGradients(batch, audio: audio)
        let gradients = try names.map { try trainer.student.gradientArray($0) }
        var check = GradientCheck()
        var worst = 0.0
        for (name, g) in zip(names, gradients) {
            let r = try check.compare(values: try trainer.student.value(name), gradient: g) {
                try trainer.computeGradients(batch, audio: audio).total
            }
            let error = GradientCheck.relativeError(r, floor: 1e-2)
            worst = max(worst, error)
            print("\(name): analytic \(r.analytic) numeric \(r.numeric) relative error \(error)")
            #expect(error <= Self.tolerance, "\(name)")
        }
        print("worst relative error \(worst) over \(names.count) tensors (tolerance \(Self.tolerance))")
    }

    @Test func wholeDecoderWithFrozenEncoder() throws {
        let trainer = try Self.makeTrainer { $0.hasPrefix("decoder.") || $0.hasPrefix("adapter.") }
        let encoded = randomValues(2 * 1500 * 64, seed: 24)
        let names = trainer.student.entries.filter(\.isTrainable).map(\.name)
        #expect(names.count == 4 + 2 * 24 + 2)
        try check(trainer, .encoded(encoded), sequences: 2, names: names)
    }

    /// One window (the encoder's cost in a debug build); the decoder test covers batching.
    @Test func wholeEncoderThroughTheDecoder() throws {
        let trainer = try Self.makeTrainer { $0.hasPrefix("encoder.") || $0 == "decoder.blocks.0.cross_attn.key.weight" }
        let mel = randomValues(80 * 3000, seed: 25)
        let names = trainer.student.entries.filter(\.isTrainable).map(\.name)
        #expect(names.count == 5 + 2 * 15 + 2 + 1)
        try check(trainer, .mel(mel), sequences: 1, names: names)
    }

    /// `--train-encoder`'s input (the student's windows and the teacher's cached encoder
    /// output) gives exactly the step the teacher's own encoder run on the same windows gives.
    @Test func aCachedTeacherOutputGivesTheSameStepAsTheTeachersEncoder() throws {
        let trainable: (String) -> Bool = { $0.hasPrefix("encoder.blocks.") || $0.hasPrefix("decoder.blocks.") }
        let live = try Self.makeTrainer(trainable: trainable), cached = try Self.makeTrainer(trainable: trainable)
        let mel = randomValues(80 * 3000, seed: 26)
        let teacher = try #require(cached.teacher)
        let teacherOutput = try EncoderGraph(dims: teacher.dims).forward(teacher, mel: mel, batch: 1).resultArray
        let batch = try Self.batch(1)
        let a = try live.computeGradients(batch, audio: .mel(mel))
        let b = try cached.computeGradients(batch, audio: .melWithTeacherOutput(mel: mel, teacher: teacherOutput))
        #expect(a.total == b.total && a.kl == b.kl && a.hidden == b.hidden)
        for e in live.student.entries where e.isTrainable {
            #expect(try live.student.gradientArray(e.name) == cached.student.gradientArray(e.name), "\(e.name)")
        }
        #expect(throws: TrainingError.self) {
            try cached.evaluate(batch, audio: .melWithTeacherOutput(mel: mel, teacher: Array(teacherOutput.dropLast())))
        }
    }
}
