import Foundation
import Testing

/// `--vocabulary FILE` on import, export and transcribe through the built binary.
@Suite struct VocabularyCLITests {
    let dir = KDQBinary.scratchDirectory("vocabulary")
    let fixture = KDQBinary.fixtures + "/tiny-random.pt"

    /// A vocab.json of `count` tokens.
    func vocabJSON(_ count: Int) throws -> String {
        let path = dir + "/vocab.json"
        try ("{" + (0..<count).map { "\"t\($0)\": \($0)" }.joined(separator: ", ") + "}").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(arguments: ["import", "export", "transcribe"]) func everyCommandOffersIt(_ command: String) throws {
        let r = try KDQBinary.run([command, "--help"])
        #expect(r.status == 0 && r.stdout.contains("--vocabulary"))
    }

    @Test func aModelWithoutAVocabularyExportsToGGMLWithOne() throws {
        // Without one, the ggml export is refused (whisper.cpp could not print text).
        #expect(try KDQBinary.run(["export", fixture, "--to", "ggml", "-o", dir + "/none.bin"]).status != 0)
        let r = try KDQBinary.run(["export", fixture, "--to", "ggml", "-o", dir + "/m.bin", "--vocabulary", try vocabJSON(1024)])
        #expect(r.status == 0, "\(r.stderr)")
        let inspect = try KDQBinary.run(["inspect", dir + "/m.bin"])
        #expect(inspect.stdout.contains("vocabulary of 1024"), "\(inspect.stdout.prefix(400))")
    }

    @Test func aVocabularyThatDoesNotFitIsRefusedAndNothingIsWritten() throws {
        let r = try KDQBinary.run(["import", fixture, "-o", dir + "/m.kdq", "--vocabulary", try vocabJSON(7)])
        #expect(r.status != 0 && r.stderr.contains("7 tokens; the model's vocabulary has 1024"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/m.kdq"))
    }
}
