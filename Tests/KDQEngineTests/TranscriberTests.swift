import Foundation
import Testing
@testable import KDQEngine
import KDQFormats

/// Whole transcriptions with the real tiny.en (when fetched).
@Suite(.serialized) struct TranscriberTests {
    static let jfk = Golden.packageRoot + "/samples/jfk.wav"
    static let expected = "And so my fellow Americans ask not what your country can do for you ask what you can do for your country."

    static func model() throws -> WhisperModel { try WhisperModel(try Checkpoint.open(Golden.realModel("tiny.en")!)) }

    @Test(.enabled(if: Golden.realModel("tiny.en") != nil, "run scripts/fetch-models.sh"))
    func jfkGreedy() throws {
        let t = try Transcriber(model: Self.model(), options: DecodingOptions()).transcribe(try AudioLoader.load(Self.jfk))
        #expect(t.text == Self.expected)
        #expect(t.segments.count == 1 && abs(t.duration - 11) < 0.01)
    }

    @Test(.enabled(if: Golden.realModel("tiny.en") != nil, "run scripts/fetch-models.sh"))
    func longAudioIsTranscribedWindowAfterWindow() throws {
        let clip = try AudioLoader.load(Self.jfk)
        var long: [Float] = []
        for _ in 0..<6 { long += clip + [Float](repeating: 0, count: 16000) }  // 72 s: three windows
        let t = try Transcriber(model: Self.model(), options: DecodingOptions()).transcribe(long)
        #expect(t.segments.count == 3)
        let mentions = t.text.components(separatedBy: "fellow Americans").count - 1
        #expect(mentions >= 5, "\(t.text)")
    }

    @Test(.enabled(if: Golden.realModel("tiny.en") != nil, "run scripts/fetch-models.sh"))
    func timestampsSegmentTheText() throws {
        var options = DecodingOptions()
        options.timestamps = true
        let t = try Transcriber(model: Self.model(), options: options).transcribe(try AudioLoader.load(Self.jfk))
        #expect(t.segments.count >= 2)
        #expect(t.segments.first?.start == 0)
        #expect(zip(t.segments, t.segments.dropFirst()).allSatisfy { $0.end <= $1.start + 1e-9 })
        #expect(t.text.contains("ask not what your country can do for you"))
    }

    @Test(.enabled(if: Golden.realModel("tiny.en") != nil, "run scripts/fetch-models.sh"))
    func beamSearchFindsTheSameWords() throws {
        var options = DecodingOptions()
        options.beamSize = 3
        let t = try Transcriber(model: Self.model(), options: options).transcribe(try AudioLoader.load(Self.jfk))
        func words(_ s: String) -> String { s.lowercased().filter { $0.isLetter || $0 == " " } }
        #expect(words(t.text) == words(Self.expected), "\(t.text)")
    }

    @Test(.enabled(if: Golden.realModel("tiny.en") != nil, "run scripts/fetch-models.sh"))
    func quantizedArchiveStillTranscribes() throws {
        var c = try Checkpoint.open(Golden.realModel("tiny.en")!)
        _ = try c.convertTensors { name, t in CanonicalNames.isMatrixWeight(name, shape: t.shape) ? .q8_0 : nil }
        let t = try Transcriber(model: WhisperModel(c), options: DecodingOptions()).transcribe(try AudioLoader.load(Self.jfk))
        #expect(t.text.contains("fellow Americans"))
    }
}
