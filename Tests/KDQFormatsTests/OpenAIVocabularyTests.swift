import Foundation
import Testing
@testable import KDQFormats

/// The vocabularies kdq supplies to OpenAI checkpoints, which carry none: chosen by the size,
/// and token for token those of the released models.
@Suite struct OpenAIVocabularyTests {
    @Test(arguments: [(51864, 50256), (51865, 50257), (51866, 50257)])
    func releaseSizesGetTheirBPETokens(_ nVocab: Int, _ bpe: Int) throws {
        let m = try #require(try OpenAIVocabulary.material(nVocab: nVocab))
        #expect(m.vocabulary?.count == bpe)
        #expect(m.vocabulary?.first == Array("!".utf8))
        let complete = try #require(m.completeByteLevelVocabulary(nVocab: nVocab))
        #expect(complete.count == nVocab)
        #expect(complete[bpe] == Array("<|endoftext|>".utf8) && complete[nVocab - 1] == Array("<|30.00|>".utf8))
    }

    @Test func otherSizesGetNone() throws {
        #expect(try OpenAIVocabulary.material(nVocab: 1024) == nil)
    }

    /// Every BPE token equals the one the released model's own files spell (tiny.en: English,
    /// base: multilingual), when the models are fetched.
    @Test(arguments: [("tiny.en", 51864), ("base", 51865)])
    func tokensAreTheReleasedModelsTokens(_ model: String, _ nVocab: Int) throws {
        guard let path = Fixtures.realModel(model) else { return }
        let released = try #require(try Checkpoint.open(path).tokenizer.completeByteLevelVocabulary(nVocab: nVocab))
        let ours = try #require(try OpenAIVocabulary.material(nVocab: nVocab)?.completeByteLevelVocabulary(nVocab: nVocab))
        let bpe = WhisperVocabulary.endOfText(nVocab: nVocab)!
        let differing = (0..<bpe).filter { released[$0] != ours[$0] }
        #expect(differing.isEmpty, "\(differing.count) tokens differ, first \(differing.prefix(5))")
    }

    @Test func aDamagedLineIsReportedWithItsNumber() throws {
        let data = Data("IQ== 0\nIg== 1\nnot base64 at all\n".utf8)
        #expect {
            try OpenAIVocabulary.parse(data, path: "x.tiktoken")
        } throws: { error in
            (error as? FormatError).map { $0.message.contains("line 3") && $0.path == "x.tiktoken" } ?? false
        }
    }

    @Test func ranksMustCountUpFromZero() throws {
        #expect(throws: FormatError.self) { try OpenAIVocabulary.parse(Data("IQ== 0\nIg== 5\n".utf8), path: "x") }
    }
}
