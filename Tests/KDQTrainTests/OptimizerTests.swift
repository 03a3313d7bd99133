import KDQFormats
import KDQTensor
import Testing
@testable import KDQTrain

/// Schedule, clipping and determinism of training.
struct OptimizerTests {
    @Test func warmupThenCosineAndLinearDecay() {
        let cosine = LearningRateSchedule(peak: 1e-3, warmupSteps: 10, totalSteps: 110, decay: .cosine, floor: 0.1)
        #expect(abs(cosine.rate(at: 0) - 1e-4) < 1e-12)
        #expect(abs(cosine.rate(at: 9) - 1e-3) < 1e-12)
        #expect(abs(cosine.rate(at: 60) - 1e-3 * (0.1 + 0.9 * 0.5)) < 1e-12)
        #expect(abs(cosine.rate(at: 110) - 1e-4) < 1e-12)
        let linear = LearningRateSchedule(peak: 2, warmupSteps: 0, totalSteps: 4, decay: .linear)
        #expect([0, 1, 2, 3, 4].map { linear.rate(at: $0) } == [2, 1.5, 1, 0.5, 0])
    }

    @Test func clippingScalesTheGlobalNormDown() throws {
        let store = try ParameterStore(dims: try Checkpoint.open(TrainFixtures.randomModel).dims,
                                       tensors: [("a", try Tensor(shape: [2], floats: [0, 0])), ("b", try Tensor(shape: [1], floats: [0]))]) { _ in true }
        let g = store.gradients
        g[0] = 3; g[1] = 0; g[2] = 4
        #expect(clipGradients(store, maxNorm: 10) == 5)
        #expect(Array(g) == [3, 0, 4])
        #expect(clipGradients(store, maxNorm: 1) == 5)
        #expect(abs(Double(g[0]) - 0.6) < 1e-6 && abs(Double(g[2]) - 0.8) < 1e-6)
    }

    /// Two runs of the same steps give bit-identical weights.
    @Test func trainingIsDeterministic() throws {
        func run() throws -> [Float] {
            let student = try ParameterStore(try Checkpoint.open(TrainFixtures.randomModel)) { $0.hasPrefix("decoder.") }
            let trainer = try FakeQuantizationTests.trainer(student)
            let schedule = LearningRateSchedule(peak: 1e-3, warmupSteps: 1, totalSteps: 3)
            let batch = try ModelGradientTests.batch(2)
            let encoded = randomValues(2 * 1500 * 64, seed: 41)
            for s in 0..<3 { _ = try trainer.step(batch, audio: .encoded(encoded), learningRate: schedule.rate(at: s)) }
            return try student.entries.flatMap { try student.array($0.name) }
        }
        let a = try run(), b = try run()
        #expect(a == b)
    }

    @Test func batchShapeMismatchIsRefused() {
        #expect(throws: TrainingError.self) { try TokenBatch(batch: 2, length: 3, tokens: [1, 2, 3], targets: [1, 2, 3]) }
    }

    @Test func targetOutsideTheVocabularyIsRefused() throws {
        let student = try ParameterStore(try Checkpoint.open(TrainFixtures.randomModel)) { $0.hasPrefix("decoder.") }
        let trainer = try DistillationTrainer(student: student, teacher: nil)
        let batch = try TokenBatch(batch: 1, length: 2, tokens: [1, 2], targets: [2, 5000])
        #expect(throws: TrainingError.self) { try trainer.computeGradients(batch, audio: .encoded(randomValues(1500 * 64, seed: 1))) }
    }

    @Test func prunedLayersAreRenumbered() throws {
        let checkpoint = try Checkpoint.open(TrainFixtures.randomModel)
        let (dims, tensors) = try LayerPruning.prune(checkpoint, decoderLayers: [1])
        #expect(dims.nTextLayer == 1)
        let names = Set(tensors.map(\.name))
        #expect(!names.contains { $0.hasPrefix("decoder.blocks.1.") })
        let kept = tensors.first { $0.name == "decoder.blocks.0.mlp.0.weight" }!.tensor
        #expect(try kept.decodedFloats() == (try checkpoint.tensor(named: "decoder.blocks.1.mlp.0.weight")!.decodedFloats()))
        #expect(throws: TrainingError.self) { try LayerPruning.prune(checkpoint, decoderLayers: [2]) }
        #expect(throws: TrainingError.self) { try LayerPruning.prune(checkpoint, decoderLayers: [0, 0]) }
    }
}
