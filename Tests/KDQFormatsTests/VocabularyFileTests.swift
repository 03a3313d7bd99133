import Foundation
import KDQJSON
import Testing
@testable import KDQFormats

/// `--vocabulary FILE`: tiktoken, tokenizer.json and vocab.json read into tokenizer material,
/// and refused when they do not fit the model.
@Suite struct VocabularyFileTests {
    let scratch = ScratchDirectory()

    func write(_ name: String, _ text: String) throws -> String {
        let path = scratch.path + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A vocab.json of `count` tokens t0, t1, … (the last two spelled as specials).
    func vocabJSON(_ count: Int) throws -> String {
        let entries = (0..<count).map { "\"\($0 >= count - 2 ? "<|s\($0)|>" : "t\($0)")\": \($0)" }
        return try write("vocab.json", "{" + entries.joined(separator: ", ") + "}")
    }

    @Test func aTiktokenFileGivesRawTokensByRank() throws {
        let m = try VocabularyFile.load(try write("v.tiktoken", "YQ== 0\nYmM= 1\n= 2\n"))
        #expect(m.vocabulary == [[0x61], [0x62, 0x63], []] && m.spelling == .bytes)
    }

    @Test func aVocabJSONGivesByteLevelTokensByID() throws {
        let m = try VocabularyFile.load(try vocabJSON(4))
        #expect(m.vocabulary?.map { String(decoding: $0, as: UTF8.self) } == ["t0", "t1", "<|s2|>", "<|s3|>"])
        #expect(m.spelling == .byteLevel && m.specialTokens == ["<|s2|>": 2, "<|s3|>": 3])
    }

    @Test func aTokenizerJSONKeepsTheFileAndItsTokens() throws {
        let path = try write("tokenizer.json", #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}}, "added_tokens": [{"id": 2, "content": "<|endoftext|>"}]}"#)
        let m = try VocabularyFile.load(path)
        #expect(m.tokenizerJSON != nil && m.vocabulary?.count == 3 && m.specialTokens["<|endoftext|>"] == 2)
    }

    @Test func aMissingFileIsNamed() {
        #expect { try VocabularyFile.load(scratch.path + "/none.json") } throws: { "\($0)".contains("none.json") }
    }

    @Test func somethingElseIsRefused() throws {
        let path = try write("v.txt", "hello")
        #expect { try VocabularyFile.load(path) } throws: { "\($0)".contains("not a tiktoken file") }
    }

    @Test func repeatedIDsAreRefused() throws {
        let path = try write("vocab.json", #"{"a": 0, "b": 0}"#)
        #expect { try VocabularyFile.load(path) } throws: { "\($0)".contains("repeated") }
    }

    @Test func gapsInTheIDsAreRefused() throws {
        let path = try write("vocab.json", #"{"a": 0, "b": 2}"#)
        #expect { try VocabularyFile.load(path) } throws: { "\($0)".contains("do not number") }
    }

    /// Found by scripts/fuzz.sh: an id of Int.max overflowed the check that ids number 0…n−1.
    @Test func theLargestIDIsAnErrorNotAnOverflow() throws {
        let path = try write("tokenizer.json", #"{"model": {"vocab": {"a": 9223372036854775807}}}"#)
        #expect(throws: FormatError.self) { try VocabularyFile.load(path) }
        let vocab = try write("vocab.json", #"{"a": 9223372036854775807}"#)
        #expect(throws: FormatError.self) { try VocabularyFile.load(vocab) }
    }

    @Test func aVocabularyOfTheModelsSizeReplacesItsOwn() throws {
        let model = try Checkpoint.open(Fixtures.path("tiny-random.pt"))
        let out = try VocabularyFile.apply(try vocabJSON(model.dims.nVocab), to: model)
        #expect(out.tokenizer.vocabulary?.count == model.dims.nVocab)
    }

    @Test func aVocabularyOfAnotherSizeIsRefusedWithBothCounts() throws {
        let model = try Checkpoint.open(Fixtures.path("tiny-random.pt"))
        let path = try vocabJSON(5)
        #expect { try VocabularyFile.apply(path, to: model) } throws: { "\($0)".contains("5 tokens; the model's vocabulary has 1024") }
    }
}
