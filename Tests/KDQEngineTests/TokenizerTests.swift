import Foundation
import Testing
@testable import KDQEngine
import KDQFormats

@Suite struct TokenizerTests {
    @Test func piecesFollowGPT2Pattern() {
        #expect(BytePairEncoder.pieces("Hello world's  end!!\n") == ["Hello", " world", "'s", " ", " end", "!!", "\n"])
        #expect(BytePairEncoder.pieces(" 2024 cats") == [" 2024", " cats"])
    }

    @Test(.enabled(if: Golden.realModel("tiny.en") != nil && Golden.referenceDirectory != nil))
    func encodingReproducesTheModelsTokens() throws {
        let tk = try WhisperTokenizer(try Checkpoint.open(Golden.realModel("tiny.en")!))
        let g = try Golden(Golden.referenceDirectory! + "/tiny.en-jfk.safetensors")
        let tokens = Array(try g.ints("tokens").dropFirst(2))
        #expect(try tk.encode(tk.decode(tokens)) == tokens)
        #expect(tk.decode(try tk.encode("Naïve café, 3.14 — ok?")) == "Naïve café, 3.14 — ok?")
    }

    @Test(.enabled(if: Golden.realModel("base") != nil))
    func specialTokenIdsOfAMultilingualModel() throws {
        let tk = try WhisperTokenizer(try Checkpoint.open(Golden.realModel("base")!))
        #expect(tk.endOfText == 50257 && tk.startOfTranscript == 50258)
        #expect(tk.languages["en"] == 50259 && tk.transcribe == 50359 && tk.noTimestamps == 50363 && tk.timestampBegin == 50364)
        #expect(try tk.startSequence(language: "de", task: .translate) == [50258, 50261, 50358])
    }

    /// openai-whisper's encodings (scripts/make-tokenizer-golden.py): name → (text, tokens).
    static func golden(_ name: String) throws -> [(text: String, tokens: [Int])] {
        let path = Golden.packageRoot + "/Tests/KDQEngineTests/Fixtures/tiktoken-golden.json"
        let json = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: path))) as? [String: [[String: Any]]]
        return (json?[name] ?? []).compactMap { e in (e["text"] as? String).map { ($0, (e["tokens"] as? [Int]) ?? []) } }
    }

    /// The vocabularies kdq supplies for OpenAI checkpoints encode text exactly as openai-whisper.
    @Test(arguments: [("english", 51864), ("multilingual", 51865)])
    func openAIVocabulariesEncodeAsOpenAIWhisper(_ name: String, _ nVocab: Int) throws {
        let material = try #require(try OpenAIVocabulary.material(nVocab: nVocab))
        let spelled = try #require(material.completeByteLevelVocabulary(nVocab: nVocab))
        let encoder = BytePairEncoder(byteLevelVocabulary: spelled, bpeTokens: try #require(WhisperVocabulary.endOfText(nVocab: nVocab)))
        let golden = try Self.golden(name)
        let differing = try golden.filter { try encoder.encode($0.text) != $0.tokens }
        print("\(name): \(golden.count) texts, \(differing.count) encoded differently from openai-whisper")
        #expect(golden.count > 70 && differing.isEmpty, "\(differing.prefix(3).map(\.text))")
    }

    /// The real models' own vocabularies (CTranslate2's, which also ship a tokenizer.json whose
    /// multilingual merges differ) encode as openai-whisper too.
    @Test(arguments: [("tiny.en", "english"), ("base", "multilingual")])
    func realModelsEncodeAsOpenAIWhisper(_ model: String, _ name: String) throws {
        guard let path = Golden.realModel(model) else { return }
        let tk = try WhisperTokenizer(try Checkpoint.open(path))
        let differing = try Self.golden(name).filter { try tk.encode($0.text) != $0.tokens }
        #expect(differing.isEmpty, "\(differing.prefix(3).map(\.text))")
    }

    /// openai-whisper's non-speech tokens plus the task and special tokens are exactly the
    /// suppress_ids CTranslate2's converter wrote for the real models.
    @Test(arguments: ["tiny.en", "base"])
    func nonSpeechTokensAreOpenAIWhispers(_ name: String) throws {
        guard let path = Golden.realModel(name) else { return }
        let checkpoint = try Checkpoint.open(path)
        let tk = try WhisperTokenizer(checkpoint)
        let specials = [tk.transcribe, tk.translate, tk.startOfTranscript, tk.startOfPrevious, tk.startOfLM, tk.noSpeech].compactMap { $0 }
        let expected = Set(try #require(checkpoint.generation.suppressTokens))
        #expect(Set(tk.nonSpeechTokens + specials) == expected, "\(Set(tk.nonSpeechTokens + specials).symmetricDifference(expected).sorted())")
        #expect(tk.nonSpeechTokens.count == (name == "base" ? 82 : 84))
    }
}
