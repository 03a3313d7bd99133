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
}
