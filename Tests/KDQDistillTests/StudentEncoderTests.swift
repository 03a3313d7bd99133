import Foundation
import KDQAnalysis
import KDQEngine
import KDQFormats
import KDQTensor
import Testing
@testable import KDQDistill
@testable import KDQTrain

/// A student whose encoder is not the teacher's (quantized by a plan, or a pretrained student's):
/// its decoder attends to its own encoder's outputs, the teacher's to the teacher's (random fixture).
@Suite(.serialized) struct StudentEncoderTests {
    typealias Loop = DistillationLoopTests

    /// The fixture as student and teacher, every block kept: identical models.
    static func identicalTrainer() throws -> DistillationTrainer {
        let checkpoint = try Checkpoint.open(Loop.fixture)
        let student = try ParameterStore(checkpoint) { $0.hasPrefix("decoder.blocks") }
        let teacher = try ParameterStore(checkpoint) { _ in false }
        return try DistillationTrainer(student: student, teacher: teacher)
    }

    @Test func eachDecoderAttendsToItsOwnEncoderOutput() throws {
        let trainer = try Self.identicalTrainer()
        let clips = Loop.clips(2)
        let batch = try TokenBatch(clips, padding: 0)
        let teacher = clips.flatMap(\.encoderOutput)
        let shared = try trainer.evaluate(batch, audio: .encoded(teacher))
        let same = try trainer.evaluate(batch, audio: .encodedEach(student: teacher, teacher: teacher))
        let perturbed = Array(Loop.clips(4).suffix(2).flatMap(\.encoderOutput))
        let own = try trainer.evaluate(batch, audio: .encodedEach(student: perturbed, teacher: teacher))
        print("KL from the teacher: shared encoder output \(shared.kl), the student's own \(own.kl)")
        #expect(shared.kl < 1e-12 && same.kl == shared.kl && same.total == shared.total)
        #expect(own.kl > 1e-8)
        #expect(throws: TrainingError.self) { try trainer.evaluate(batch, audio: .encodedEach(student: Array(perturbed.dropLast()), teacher: teacher)) }
    }

    @Test func theLoopReadsTheStudentsEncoderOutputsWhenItHasThem() throws {
        let dir = try Loop.scratch(), own = try Loop.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: own) }
        let clips = Loop.clips(5)
        for c in clips {
            try ClipCache(directory: dir).store(c)
            let shifted = c.encoderOutput.map { $0 * 0.8 + 0.05 }
            try ClipCache(directory: own).store(TaughtClip(id: c.id, encoderOutput: shifted, tokens: c.tokens, promptLength: c.promptLength))
        }
        var settings = DistillationSettings()
        settings.batchSize = 2
        let loop = try DistillationLoop(trainer: try Self.identicalTrainer(), settings: settings, cache: try ClipCache(directory: dir),
                                        train: ["clip0", "clip1", "clip2", "clip3"], validation: ["clip4"], padding: 0)
        let shared = try loop.validationLoss().kl
        loop.studentEncoderCache = try ClipCache(directory: own)
        let planned = try loop.validationLoss().kl
        print("validation KL: shared encoder \(shared), planned encoder \(planned)")
        #expect(shared < 1e-12 && planned > 1e-8)
    }

    /// A plan's decoder encodings: those it changes, and every block encoding the student has
    /// already (a compressed archive continuing its quantization-aware training); a plan of
    /// floats equal to the student's changes nothing and is refused.
    @Test func aPlanTrainsThroughEveryBlockEncodingOfTheDecoder() throws {
        let teacher = try Checkpoint.open(Loop.fixture)
        var compressed = teacher
        _ = try compressed.convertTensors { name, t in name.hasPrefix("decoder.blocks.0.") && t.shape.count == 2 ? .q4_0 : nil }
        let fromTeacher = try DistillationJob.encodings(compressed, for: teacher, path: "c.kdq", encoderChanges: false)
        let itself = try DistillationJob.encodings(compressed, for: compressed, path: "c.kdq", encoderChanges: false)
        #expect(!fromTeacher.isEmpty && fromTeacher.values.allSatisfy { $0 == .q4_0 })
        #expect(itself == fromTeacher, "the archive continues through its own encodings")
        #expect(throws: TrainingError.self) { try DistillationJob.encodings(teacher, for: teacher, path: "t", encoderChanges: false) }
    }

    /// `--train-encoder`: the plan's encodings of the encoder blocks are trained through; the
    /// frozen encoder tensors (convolutions, positions) start from the plan's values.
    @Test func aTrainedEncoderTrainsThroughThePlansEncoderBlocks() throws {
        let teacher = try Checkpoint.open(Loop.fixture)
        var planned = teacher
        _ = try planned.convertTensors { name, t in
            (name.hasPrefix("encoder.blocks.") || name == "encoder.positional_embedding") && t.shape.count == 2 ? .q8_0 : nil
        }
        let frozen = try DistillationJob.encodings(planned, for: teacher, path: "p.kdq", encoderChanges: true)
        let trained = try DistillationJob.encodings(planned, for: teacher, path: "p.kdq", encoderChanges: true, encoderTrains: true)
        #expect(frozen.isEmpty)
        #expect(!trained.isEmpty && trained.keys.allSatisfy { $0.hasPrefix("encoder.blocks.") } && trained.values.allSatisfy { $0 == .q8_0 })
        let start = try DistillationJob.frozenEncoderAsPlanned(teacher, planned)
        #expect(start.tensor(named: "encoder.positional_embedding")?.encoding == .q8_0, "frozen: the plan's")
        #expect(start.tensor(named: "encoder.blocks.0.mlp.0.weight")?.encoding == teacher.tensor(named: "encoder.blocks.0.mlp.0.weight")?.encoding,
                "trained: the student's own masters")
        let d = teacher.dims
        let otherMels = ModelDims(nMels: 128, nAudioCtx: d.nAudioCtx, nAudioState: d.nAudioState, nAudioHead: d.nAudioHead,
                                  nAudioLayer: d.nAudioLayer, nVocab: d.nVocab, nTextCtx: d.nTextCtx, nTextState: d.nTextState,
                                  nTextHead: d.nTextHead, nTextLayer: d.nTextLayer)
        #expect(throws: TrainingError.self) { try DistillationJob.checkEncoderTrains(student: otherMels, teacher: d) }
        try DistillationJob.checkEncoderTrains(student: d, teacher: d)
    }

    @Test func plannedOutputsAreCachedPerEncoderWithTheLabels() throws {
        let teacher = try Checkpoint.open(Loop.fixture)
        var planned = teacher
        _ = try planned.convertTensors { name, t in name.hasPrefix("encoder.blocks.") && t.shape.count == 2 ? .q8_0 : nil }
        var other = teacher
        _ = try other.convertTensors { name, t in name.hasPrefix("encoder.blocks.") && t.shape.count == 2 ? .q4_0 : nil }
        var decoderOnly = teacher
        _ = try decoderOnly.convertTensors { name, t in name.hasPrefix("decoder.blocks.") && t.shape.count == 2 ? .q8_0 : nil }
        #expect(StudentEncoderOutputs.differs(planned, from: teacher) && !StudentEncoderOutputs.differs(decoderOnly, from: teacher))
        #expect(!StudentEncoderOutputs.differs(teacher, from: teacher))
        // A student whose encoder has other values (a pretrained student's own).
        var tensors = Dictionary(uniqueKeysWithValues: teacher.tensors.map { ($0.name, $0.tensor) })
        let norm = try #require(tensors["encoder.ln_post.weight"])
        tensors["encoder.ln_post.weight"] = try Tensor(shape: norm.shape, floats: try norm.decodedFloats().map { $0 * 1.5 })
        let retrained = try Checkpoint(dims: teacher.dims, tensors: tensors, tokenizer: teacher.tokenizer, melFilters: teacher.melFilters,
                                       generation: teacher.generation, provenance: teacher.provenance)
        #expect(StudentEncoderOutputs.differs(retrained, from: teacher))
        #expect(StudentEncoderOutputs.directory(planned, under: "w") == StudentEncoderOutputs.directory(planned, under: "w"))
        #expect(StudentEncoderOutputs.directory(planned, under: "w") != StudentEncoderOutputs.directory(other, under: "w"))

        let dir = try Loop.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let manifestPath = dir + "/m.jsonl"
        try "{\"id\": \"jfk\", \"audio\": \"\(Loop.root)/samples/jfk.wav\"}\n".write(toFile: manifestPath, atomically: true, encoding: .utf8)
        let labels = try ClipCache(directory: dir + "/labels")
        let values = 1500 * 64
        try labels.store(TaughtClip(id: "jfk", encoderOutput: [Float](repeating: 0, count: values), tokens: [1, 2, 3, 4], promptLength: 2))
        let model = try WhisperModel(planned)
        let cache = try ClipCache(directory: StudentEncoderOutputs.directory(planned, under: dir))
        try StudentEncoderOutputs.prepare(["jfk"], manifest: try ClipManifest(path: manifestPath), model: model, labels: labels,
                                          labelValues: values, into: cache)
        let clip = try #require(try cache.load("jfk", encoderValues: values))
        let samples = Array(try AudioLoader.load(Loop.root + "/samples/jfk.wav").prefix(LogMelSpectrogram.windowSamples))
        let expected = try model.encoder.encode(model.melWindow(samples))
        let maxDiff = zip(clip.encoderOutput, expected).map { abs($0 - $1) }.max() ?? .infinity
        print("cached planned encoder output against a fresh one: max |difference| \(maxDiff) (f16 storage)")
        #expect(clip.tokens == [1, 2, 3, 4] && clip.promptLength == 2)
        #expect(maxDiff <= 1e-3 * (expected.map { abs($0) }.max() ?? 1))
        #expect(throws: TrainingError.self) {
            try StudentEncoderOutputs.prepare(["nope"], manifest: try ClipManifest(path: manifestPath), model: model, labels: labels,
                                              labelValues: values, into: cache)
        }
    }
}
