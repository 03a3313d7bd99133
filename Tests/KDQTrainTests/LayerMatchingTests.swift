import KDQFormats
import Testing
@testable import KDQTrain

/// The paper's guided matching: student layer i learns from teacher layer m(i), m increasing,
/// re-chosen from the hidden states as training goes.
struct LayerMatchingTests {
    /// The dynamic programme against every increasing map.
    @Test func increasingAssignmentIsTheCheapest() {
        for seed in 1...20 {
            let rows = 1 + seed % 3, cols = rows + seed % 4
            let values = randomValues(rows * cols, seed: UInt64(seed)).map { Double(abs($0)) }
            let cost = (0..<rows).map { Array(values[($0 * cols)..<(($0 + 1) * cols)]) }
            let chosen = DistillationTrainer.increasingAssignment(cost)
            #expect(zip(chosen, chosen.dropFirst()).allSatisfy { $0 < $1 })
            func all(_ prefix: [Int]) -> [[Int]] {
                if prefix.count == rows { return [prefix] }
                return ((prefix.last.map { $0 + 1 } ?? 0)..<cols).flatMap { all(prefix + [$0]) }
            }
            let brute = all([]).map { m in m.enumerated().reduce(0.0) { $0 + cost[$1.offset][$1.element] } }.min()!
            let got = chosen.enumerated().reduce(0.0) { $0 + cost[$1.offset][$1.element] }
            #expect(abs(got - brute) < 1e-12)
        }
    }

    /// A student that is the teacher itself matches each layer to its own copy.
    @Test func aStudentEqualToTheTeacherMatchesLayerToLayer() throws {
        let checkpoint = try Checkpoint.open(TrainFixtures.randomModel)
        let student = try ParameterStore(checkpoint) { $0.hasPrefix("decoder.blocks.") }
        let teacher = try ParameterStore(checkpoint) { _ in false }
        let trainer = try DistillationTrainer(student: student, teacher: teacher, objective: DistillationObjective(alpha: 0.9, beta: 1),
                                              layerMap: [0: 1, 1: 1])
        trainer.dynamicMatching = true
        _ = try trainer.step(try ModelGradientTests.batch(2), audio: .encoded(randomValues(2 * 1500 * 64, seed: 3)), learningRate: 0)
        #expect(trainer.layerMap == [0: 0, 1: 1])
        #expect(trainer.layerMapHistory.count == 1 && trainer.layerMapHistory[0].map == [0: 0, 1: 1])
    }
}
