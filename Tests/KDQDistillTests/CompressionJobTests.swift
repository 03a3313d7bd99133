import KDQAnalysis
import KDQJSON
import KDQQuantize
import KDQTensor
import Testing
@testable import KDQDistill

/// The pieces of `kdq compress` that need no model: how a student's tensors map to the
/// teacher's, which depths are tried by default, and the teacher profile carried over.
@Suite struct CompressionJobTests {
    @Test func studentBlocksMapToTheTeacherBlocksTheyWereCopiedFrom() {
        let layers = [0, 3, 5]
        #expect(CompressionJob.teacherName("decoder.blocks.1.attn.query.weight", layers: layers) == "decoder.blocks.3.attn.query.weight")
        #expect(CompressionJob.teacherName("decoder.blocks.2.mlp.0.bias", layers: layers) == "decoder.blocks.5.mlp.0.bias")
        #expect(CompressionJob.teacherName("decoder.blocks.3.mlp.0.bias", layers: layers) == nil)
        #expect(CompressionJob.teacherName("encoder.blocks.1.attn.query.weight", layers: layers) == "encoder.blocks.1.attn.query.weight")
        #expect(CompressionJob.teacherName("decoder.token_embedding.weight", layers: layers) == "decoder.token_embedding.weight")
        #expect(CompressionJob.studentName("decoder.blocks.5.cross_attn.key.weight", layers: layers) == "decoder.blocks.2.cross_attn.key.weight")
        #expect(CompressionJob.studentName("decoder.blocks.4.cross_attn.key.weight", layers: layers) == nil)
        #expect(CompressionJob.studentName("decoder.ln.weight", layers: layers) == "decoder.ln.weight")
    }

    @Test func defaultDepthsAreAThirdHalfTwoThirdsAndAll() {
        #expect(CompressionJob.defaultDepths(6) == [2, 3, 4, 6])
        #expect(CompressionJob.defaultDepths(4) == [1, 2, 4])
        #expect(CompressionJob.defaultDepths(2) == [1, 2])
        #expect(CompressionJob.defaultDepths(32) == [10, 16, 21, 32])
    }

    @Test func aTeacherProfileIsMappedOntoTheStudentsNames() throws {
        func entry(_ name: String, _ kl: Double) throws -> SensitivityProfile.Entry {
            let weight = ErrorMetrics.compare([1, 2], [1, 2.5])
            return SensitivityProfile.Entry(tensor: name, alternatives: [Sensitivity(encoding: .f16, bytes: 64, weight: weight, meanKL: 0),
                                                                        Sensitivity(encoding: .q4_0, bytes: 18, weight: weight, meanKL: kl)])
        }
        let teacher = SensitivityProfile(entries: [try entry("decoder.blocks.0.mlp.0.weight", 0.1), try entry("decoder.blocks.5.mlp.0.weight", 0.5),
                                                   try entry("decoder.token_embedding.weight", 0.9)], windows: 2, positions: 40)
        // The student's token embedding is trimmed to 10 of the teacher's 32 rows.
        func tensor(_ rows: Int) throws -> Tensor { try Tensor(shape: [rows, 32], floats: [Float](repeating: 1, count: rows * 32)) }
        let tensors = [("decoder.blocks.0.mlp.0.weight", try tensor(1)), ("decoder.blocks.1.mlp.0.weight", try tensor(1)),
                       ("decoder.token_embedding.weight", try tensor(10)), ("decoder.ln.weight", try Tensor(shape: [32], floats: [Float](repeating: 1, count: 32)))]
        let student = teacher.mapped(tensors) { CompressionJob.teacherName($0, layers: [0, 5]) }
        #expect(student.entries.map(\.tensor) == ["decoder.blocks.0.mlp.0.weight", "decoder.blocks.1.mlp.0.weight", "decoder.token_embedding.weight"])
        #expect(student.entry("decoder.blocks.1.mlp.0.weight")?.alternatives.last?.meanKL == 0.5)
        // Measurements are the teacher's, sizes the student's tensors': f16 2 bytes a value, q4_0 18 bytes a 32-value block.
        #expect(student.entry("decoder.token_embedding.weight")?.alternatives.map(\.bytes) == [10 * 32 * 2, 10 * 18])
        #expect(student.entry("decoder.token_embedding.weight")?.alternatives.last?.meanKL == 0.9)
        #expect(student.windows == 2 && student.positions == 40)
    }

    @Test func trainingIsKeptOnlyWhenItLowersTheKL() throws {
        #expect(TrainingOutcome(startKL: 0.05, trainedKL: 0.04).kept == .trained)
        #expect(TrainingOutcome(startKL: 0.05, trainedKL: 0.05).kept == .start)
        let worse = TrainingOutcome(startKL: 0.02, trainedKL: 0.3)
        #expect(worse.kept == .start && worse.keptKL == 0.02)
        #expect(TrainingOutcome(json: worse.json) == worse)
        #expect(worse.json["kept"]?.stringValue == "start")
        #expect(TrainingOutcome(json: .object(["start_kl": 0.1])) == nil)
    }

    @Test func withoutTrainingTheStartIsKept() throws {
        let untrained = TrainingOutcome(startKL: 0.05, trainedKL: nil)
        #expect(untrained.kept == .start && untrained.keptKL == 0.05)
        #expect(untrained.json["trained_kl"] == .null && TrainingOutcome(json: untrained.json) == untrained)
        #expect(untrained.summary.hasPrefix("no recovery training (0 epochs)"))
        #expect(TrainingOutcome(json: .object(["start_kl": 0.1, "trained_kl": "x"])) == nil)
    }
}
