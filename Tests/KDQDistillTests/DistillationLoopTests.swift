import Foundation
import KDQFormats
import KDQTestSupport
import Testing
@testable import KDQDistill
@testable import KDQTrain

/// The distillation loop on the random fixture: resuming from a checkpoint reaches the same
/// weights as an uninterrupted run; cached clips are checked; layer choices are scored.
@Suite(.serialized) struct DistillationLoopTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let fixture = root + "/Tests/KDQFormatsTests/Fixtures/tiny-random.pt"

    static func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "kdq-distill-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Synthetic taught clips: random encoder outputs, a 2-token prompt, random text tokens.
    static func clips(_ count: Int) -> [TaughtClip] {
        var rng = SplitMix64(seed: 99)
        return (0..<count).map { i in
            let encoder = (0..<(1500 * 64)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
            let length = 4 + Int(rng.next() % 4)
            return TaughtClip(id: "clip\(i)", encoderOutput: encoder, tokens: (0..<length).map { _ in Int(rng.next() % 1024) }, promptLength: 2)
        }
    }

    static func loop(_ directory: String) throws -> DistillationLoop {
        let checkpoint = try Checkpoint.open(fixture)
        let (dims, tensors) = try LayerPruning.prune(checkpoint, decoderLayers: [1])
        let student = try ParameterStore(dims: dims, tensors: tensors) { $0.hasPrefix("decoder.blocks") || $0 == "decoder.ln.weight" }
        let teacher = try ParameterStore(checkpoint) { _ in false }
        let trainer = try DistillationTrainer(student: student, teacher: teacher)
        var settings = DistillationSettings()
        settings.epochs = 2
        settings.batchSize = 2
        settings.warmupSteps = 1
        settings.checkpointEvery = 1
        settings.patience = 5
        let cache = try ClipCache(directory: directory)
        return try DistillationLoop(trainer: trainer, settings: settings, cache: cache, train: ["clip0", "clip1", "clip2", "clip3"],
                                    validation: ["clip4"], padding: 0)
    }

    /// Training without a plan (compress's probe steps) continues through one; a checkpoint
    /// trained through other encodings is refused, not taken as this run's.
    @Test func aCheckpointOfAnotherPlanIsRefused() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for c in Self.clips(5) { try ClipCache(directory: dir).store(c) }
        let probe = try Self.loop(dir)
        #expect(try !probe.run(resume: false) { true })
        let q8 = try Self.loop(dir)
        try q8.trainer.quantizationAware(["decoder.blocks.0.mlp.0.weight": .q8_0])
        try q8.restore()
        #expect(try !q8.run(resume: false) { true })
        let q4 = try Self.loop(dir)
        try q4.trainer.quantizationAware(["decoder.blocks.0.mlp.0.weight": .q4_0])
        #expect { try q4.restore() } throws: { "\($0)".contains("trained through other encodings") }
    }

    @Test func resumingGivesTheSameWeightsAsAnUninterruptedRun() throws {
        let a = try Self.scratch(), b = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        for dir in [a, b] { for c in Self.clips(5) { try ClipCache(directory: dir).store(c) } }
        let whole = try Self.loop(a)
        #expect(try whole.run(resume: false))
        #expect(whole.step == 4 && whole.validationCurve.count == 2)
        // Stopped after the first step (as Ctrl-C does), then resumed by a new process.
        var stops = 0
        let first = try Self.loop(b)
        #expect(try !first.run(resume: false) { stops += 1; return stops == 1 })
        let resumed = try Self.loop(b)
        #expect(try resumed.run(resume: true))
        #expect(resumed.trainer.student.trainingState() == whole.trainer.student.trainingState())
        #expect(resumed.trainingCurve == whole.trainingCurve)
        // The training time counts both runs: the resumed one starts from the first one's.
        #expect(first.seconds > 0 && resumed.seconds > first.seconds)
    }

    /// Validation WER is measured after every epoch on the validation clips and kept in the
    /// checkpoint with the rest of the curve.
    @Test func validationWordErrorsAreMeasuredEachEpochAndCheckpointed() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for c in Self.clips(5) { try ClipCache(directory: dir).store(c) }
        let loop = try Self.loop(dir)
        var seen: [[String]] = []
        loop.validationWordErrors = { clips in
            seen.append(clips.map(\.id))
            return 0.25 * Double(seen.count)
        }
        #expect(try loop.run(resume: false))
        #expect(seen == [["clip4"], ["clip4"]])
        #expect(loop.validationCurve.map(\.wer) == [0.25, 0.5])
        let again = try Self.loop(dir)
        try again.restore()
        #expect(again.validationCurve.map(\.wer) == [0.25, 0.5])
    }

    @Test func cachedClipsRoundTripAndDamageIsReported() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = try ClipCache(directory: dir), clip = Self.clips(1)[0]
        try cache.store(clip)
        let back = try #require(try cache.load(clip.id, encoderValues: 1500 * 64))
        #expect(back.tokens == clip.tokens && back.promptLength == 2)
        #expect(zip(back.encoderOutput, clip.encoderOutput).allSatisfy { abs($0 - $1) <= 1e-3 })
        #expect(throws: TrainingError.self) { try cache.load(clip.id, encoderValues: 1500 * 512) }
        let tokensOnly = try #require(try cache.load(clip.id, encoderValues: 1500 * 64, encoderOutput: false))
        #expect(tokensOnly.tokens == clip.tokens && tokensOnly.encoderOutput.isEmpty)
        let path = cache.path(clip.id)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count - 7).write(to: URL(fileURLWithPath: path))
        #expect(throws: TrainingError.self) { try cache.load(clip.id, encoderValues: 1500 * 64) }
        #expect(throws: TrainingError.self) { try cache.load(clip.id, encoderValues: 1500 * 64, encoderOutput: false) }
        #expect(try cache.load("absent", encoderValues: 1500 * 64) == nil)
    }

    @Test func resumeWithoutACheckpointIsRefused() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: TrainingError.self) { try Self.loop(dir).run(resume: true) }
    }

    @Test func measuredSelectionScoresEveryChoiceAndIsNoWorseThanEven() throws {
        let teacher = try Checkpoint.open(Self.fixture)
        let scorer = try PrunedDecoderScorer(teacher: teacher, clips: Self.clips(2))
        let selection = try scorer.select(1)
        #expect(selection.candidates.count == 2)
        let even = try scorer.score(try LayerSelection.even(1, of: 2))
        #expect(selection.candidates.map(\.kl).min()! <= even.kl)
        #expect(try LayerSelection.even(2, of: 6) == [0, 5])
        #expect(try LayerSelection.even(3, of: 6) == [0, 2, 5])
        #expect(try LayerSelection.even(4, of: 6) == [0, 1, 3, 5])
        #expect(PrunedDecoderScorer.combinations(2, of: 6, limit: 64)?.count == 15)
        #expect(PrunedDecoderScorer.combinations(16, of: 32, limit: 64) == nil)
    }
}
