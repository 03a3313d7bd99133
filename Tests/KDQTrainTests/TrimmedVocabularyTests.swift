import KDQFormats
import KDQTensor
import Testing
@testable import KDQTrain

/// Training a vocabulary-trimmed student: batches are read through the kept tokens' rows and
/// cut at the first token the student lacks; its gradients agree with finite differences; a
/// subset that keeps every token trains exactly as the whole vocabulary does.
@Suite(.serialized) struct TrimmedVocabularyTests {
    static func trainer(keeping ids: [Int]?) throws -> DistillationTrainer {
        let checkpoint = try Checkpoint.open(TrainFixtures.randomModel)
        let tensors = try ids.map { try checkpoint.trimmingVocabulary(to: VocabularySubset(ids: $0, vocabularySize: checkpoint.dims.nVocab)).tensors }
            ?? checkpoint.tensors
        let student = try ParameterStore(dims: checkpoint.dims, tensors: tensors) { $0.hasPrefix("decoder.") && $0 != VocabularySubset.tensorName }
        let teacher = try ParameterStore(try Checkpoint.open(TrainFixtures.randomModelQ4)) { _ in false }
        return try DistillationTrainer(student: student, teacher: teacher, objective: DistillationObjective(alpha: 0.7, temperature: 2))
    }

    static func batch() throws -> TokenBatch {
        let tokens = randomValues(12, seed: 31).map { Int32(abs($0) * 1023) }
        var targets = Array(tokens.dropFirst()) + [Int32(5)]
        targets[0] = -1
        targets[6] = -1
        return try TokenBatch(batch: 2, length: 6, tokens: tokens, targets: targets)
    }

    @Test func aSequenceIsCutAtTheFirstTokenTheStudentLacks() throws {
        let kept = try VocabularySubset(ids: [0, 3, 7, 9, 11], vocabularySize: 16)
        let batch = try TokenBatch(batch: 2, length: 4, tokens: [3, 7, 9, 11, 3, 5, 7, 9], targets: [-1, 9, 11, 0, -1, 7, 9, 4])
        let own = try batch.restricted(to: kept)
        // First sequence: every token kept, ids become rows. Second: token 5 (input at position 1) is missing.
        #expect(own.tokens == [1, 2, 3, 4, 1, 0, 0, 0])
        #expect(own.targets == [-1, 3, 4, 0, -1, -1, -1, -1])
        // A missing target cuts from its own position; the input there is still read.
        let target = try TokenBatch(batch: 1, length: 3, tokens: [3, 7, 9], targets: [5, 9, 11]).restricted(to: kept)
        #expect(target.tokens == [1, 0, 0] && target.targets == [-1, -1, -1])
    }

    @Test func keepingEveryTokenTrainsAsTheWholeVocabulary() throws {
        let whole = try Self.trainer(keeping: nil), all = try Self.trainer(keeping: Array(0..<1024))
        let audio = DistillationTrainer.Audio.encoded(randomValues(2 * 1500 * 64, seed: 32))
        let a = try whole.computeGradients(try Self.batch(), audio: audio), b = try all.computeGradients(try Self.batch(), audio: audio)
        print("loss whole \(a.total) kept-all \(b.total) difference \(abs(a.total - b.total))")
        #expect(abs(a.total - b.total) <= 1e-6 * abs(a.total))
        for name in ["decoder.token_embedding.weight", "decoder.blocks.1.mlp.2.weight"] {
            let ga = try whole.student.gradientArray(name), gb = try all.student.gradientArray(name)
            let worst = zip(ga, gb).map { abs($0 - $1) }.max() ?? 0
            print("\(name): max gradient difference \(worst)")
            #expect(worst <= 1e-6)
        }
    }

    @Test func trimmedStudentGradientsAgreeWithFiniteDifferences() throws {
        // Keep two thirds of the tokens: some of the batch's are missing, so sequences are cut.
        let ids = (0..<1024).filter { $0 % 3 != 1 }
        let trainer = try Self.trainer(keeping: ids)
        let batch = try Self.batch()
        let kept = try VocabularySubset(ids: ids, vocabularySize: 1024)
        let own = try batch.restricted(to: kept)
        #expect(own.targets.filter { $0 >= 0 }.count > 0 && own.targets.filter { $0 >= 0 }.count < batch.targets.filter { $0 >= 0 }.count)
        let audio = DistillationTrainer.Audio.encoded(randomValues(2 * 1500 * 64, seed: 33))
        _ = try trainer.computeGradients(batch, audio: audio)
        var check = GradientCheck()
        var worst = 0.0
        for name in ["decoder.token_embedding.weight", "decoder.blocks.0.attn.query.weight", "decoder.blocks.1.mlp.0.weight", "decoder.ln.weight"] {
            let g = try trainer.student.gradientArray(name)
            let r = try check.compare(values: try trainer.student.value(name), gradient: g) { try trainer.computeGradients(batch, audio: audio).total }
            let error = GradientCheck.relativeError(r, floor: 1e-2)
            worst = max(worst, error)
            print("\(name): analytic \(r.analytic) numeric \(r.numeric) relative error \(error)")
            #expect(error <= 5e-3, "\(name)")
        }
        print("worst relative error \(worst) (tolerance 5e-3)")
    }
}
