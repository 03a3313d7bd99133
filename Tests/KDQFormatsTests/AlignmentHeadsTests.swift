import Foundation
import Testing
@testable import KDQFormats

/// openai-whisper's alignment heads, which OpenAI checkpoints do not carry.
@Suite struct AlignmentHeadsTests {
    /// The table agrees with what CTranslate2's converter wrote for the real models.
    @Test(arguments: ["tiny.en", "base"])
    func theTableAgreesWithTheConvertersRecord(_ name: String) throws {
        let dir = Fixtures.packageRoot + "/models/" + name
        guard FileManager.default.fileExists(atPath: dir + "/model.bin") else { return }
        let model = try Checkpoint.open(dir)
        let recorded = try #require(model.generation.alignmentHeads)
        #expect(try OpenAIAlignmentHeads.heads(for: model.dims) == recorded)
    }

    @Test func everyReleaseButTheAmbiguousLargeHasHeads() throws {
        var dims = try Checkpoint.open(Fixtures.path("tiny-random.pt")).dims
        (dims.nAudioState, dims.nAudioLayer, dims.nTextLayer, dims.nTextHead, dims.nVocab) = (512, 6, 6, 8, 51864)
        #expect(try OpenAIAlignmentHeads.heads(for: dims)?.count == 5)  // base.en
        (dims.nAudioState, dims.nAudioLayer, dims.nTextLayer, dims.nVocab) = (1280, 32, 32, 51865)
        #expect(try OpenAIAlignmentHeads.heads(for: dims) == nil)  // large-v1 or large-v2
        dims.nVocab = 51866
        #expect(try OpenAIAlignmentHeads.heads(for: dims)?.count == 10)  // large-v3
    }

    @Test func aCheckpointOfNoReleaseSizeGetsNone() throws {
        #expect(try Checkpoint.open(Fixtures.path("random-v3.pt")).generation.alignmentHeads == nil)
    }
}
