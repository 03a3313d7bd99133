import Foundation
import KDQJSON
import Testing

@Suite struct EvalCLITests {
    static let tiny = KDQBinary.packageRoot + "/models/tiny.en"
    let dir = KDQBinary.scratchDirectory("eval")

    func manifest(_ name: String, _ body: String) throws -> String {
        let path = dir + "/" + name
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    var jfk: String { KDQBinary.packageRoot + "/samples/jfk.wav" }
    static let text = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."

    @Test func help() throws {
        let r = try KDQBinary.run(["eval", "--help"])
        #expect(r.status == 0 && r.stdout.contains("--manifest"))
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: tiny + "/model.bin")))
    func scoresAndResumes() throws {
        let m = try manifest("set.jsonl", """
            {"id": "a", "audio": "\(jfk)", "text": "\(Self.text)"}
            {"id": "b", "audio": "\(jfk)", "text": "And so my fellow Americans."}
            """)
        let out = dir + "/results.jsonl"
        let first = try KDQBinary.run(["eval", "--manifest", m, "--model", Self.tiny, "--out", out, "--limit", "1", "--json"])
        #expect(first.status == 0, "\(first.stderr)")
        let j1 = try JSONValue.parse(first.stdout)
        #expect(j1["models"]?.arrayValue?.first?["wer"]?.doubleValue == 0)
        let second = try KDQBinary.run(["eval", "--manifest", m, "--model", Self.tiny, "--out", out, "--json"])
        let row = try JSONValue.parse(second.stdout)["models"]?.arrayValue?.first
        #expect(row?["utterances"]?.intValue == 2)
        #expect(row?["insertions"]?.intValue ?? 0 >= 10, "against the short reference the hypothesis inserts words")
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2, "the resumed run transcribed only the missing utterance")
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: tiny + "/model.bin")))
    func tsvManifest() throws {
        let m = try manifest("set.tsv", "id\taudio\ttext\nx\t\(jfk)\t\(Self.text)\n")
        let r = try KDQBinary.run(["eval", "--manifest", m, "--model", Self.tiny])
        #expect(r.status == 0)
        #expect(r.stdout.contains("0.00"))
    }

    @Test func badManifestIsAClearError() throws {
        let m = try manifest("bad.jsonl", "{\"id\": \"a\"}\n")
        let r = try KDQBinary.run(["eval", "--manifest", m, "--model", "whatever"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("lacks a string id, audio or text"))
    }
}
