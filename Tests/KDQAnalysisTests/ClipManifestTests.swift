import Foundation
import Testing
@testable import KDQAnalysis

/// Training and covariance audio lists: text optional, paths resolved, every bad line an error
/// naming the file and line.
struct ClipManifestTests {
    /// `lines` written to a fresh manifest file; its path.
    static func manifest(_ lines: [String]) throws -> String {
        let dir = NSTemporaryDirectory() + "kdq-clips-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/clips.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func textIsOptionalAndAudioIsResolvedAgainstTheManifest() throws {
        let path = try Self.manifest([#"{"id": "a", "audio": "a.opus"}"#, #"{"id": "b", "audio": "/abs/b.wav", "text": "Hello."}"#])
        let m = try ClipManifest(path: path)
        #expect(m.clips.map(\.id) == ["a", "b"])
        #expect(m.clips[0].audio == (path as NSString).deletingLastPathComponent + "/a.opus" && m.clips[0].text == nil)
        #expect(m.clips[1].audio == "/abs/b.wav" && m.clips[1].text == "Hello.")
        #expect(m.spread(1).map(\.id) == ["a"] && m.spread(5).count == 2)
    }

    @Test func aLineWithoutAudioIsAnError() throws {
        let path = try Self.manifest([#"{"id": "a", "audio": "a.opus"}"#, #"{"id": "b"}"#])
        let e = #expect(throws: EvalError.self) { try ClipManifest(path: path) }
        #expect(e?.description == "\(path): line 2 lacks a string id or audio")
    }

    @Test func aLineThatIsNotJSONIsAnError() throws {
        let path = try Self.manifest(["{\"id\": "])
        let e = #expect(throws: EvalError.self) { try ClipManifest(path: path) }
        #expect(e?.description.hasPrefix("\(path): line 1:") == true, "\(String(describing: e))")
    }

    @Test func anEmptyManifestIsAnError() throws {
        let path = try Self.manifest([])
        let e = #expect(throws: EvalError.self) { try ClipManifest(path: path) }
        #expect(e?.description == "\(path): manifest lists no clips")
    }

    @Test func repeatedIdsAreAnError() throws {
        let path = try Self.manifest([#"{"id": "a", "audio": "a.opus"}"#, #"{"id": "a", "audio": "b.opus"}"#])
        let e = #expect(throws: EvalError.self) { try ClipManifest(path: path) }
        #expect(e?.description == "\(path): clip ids are not unique")
    }

    @Test func aMissingFileIsAnError() throws {
        let e = #expect(throws: EvalError.self) { try ClipManifest(path: "/nonexistent/clips.jsonl") }
        #expect(e?.description.hasPrefix("/nonexistent/clips.jsonl: cannot read manifest") == true, "\(String(describing: e))")
    }
}
