import Foundation
import Testing

/// `kdq report` on the built binary.
@Suite struct ReportCLITests {
    let f = KDQBinary.fixtures
    let dir = KDQBinary.scratchDirectory("report")
    static let tinyEn = KDQBinary.tinyEn
    static let release = KDQBinary.isRelease
    var calibration: String { KDQBinary.packageRoot + "/samples/calibration.jsonl" }

    func page(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    @Test func help() throws {
        let r = try KDQBinary.run(["report", "--help"])
        #expect(r.status == 0 && r.stdout.contains("--teacher") && r.stdout.contains("--audio") && r.stdout.contains("self-contained"))
    }

    @Test func aTeacherWithoutAudioIsRefused() throws {
        let r = try KDQBinary.run(["report", f + "/tiny-random.pt", "-o", dir + "/r.html", "--teacher", f + "/tiny-random.pt"])
        #expect(r.status != 0 && r.stderr.contains("--teacher and --audio"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/r.html"))
    }

    @Test func aNegativeLimitIsRefused() throws {
        let r = try KDQBinary.run(["report", f + "/tiny-random.pt", "-o", dir + "/r.html", "--limit", "-2"])
        #expect(r.status != 0 && r.stderr.contains("--limit"), "\(r.stderr)")
    }

    @Test func aMissingArchiveIsAClearError() throws {
        let r = try KDQBinary.run(["report", dir + "/none.kdq", "-o", dir + "/r.html"])
        #expect(r.status != 0 && r.stderr.contains("none.kdq"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/r.html"))
    }

    @Test func anOutputThatIsADirectoryIsRefused() throws {
        let r = try KDQBinary.run(["report", f + "/tiny-random.pt", "-o", dir])
        #expect(r.status != 0 && r.stderr.contains("directory"), "\(r.stderr)")
    }

    @Test func aQuantizedArchiveShowsItsPlanAndNothingElseIsFetched() throws {
        #expect(try KDQBinary.run(["quantize", f + "/tiny-random.pt", "-o", dir + "/q.kdq", "--uniform", "q4_0"]).status == 0)
        let r = try KDQBinary.run(["report", dir + "/q.kdq", "-o", dir + "/q.html"])
        #expect(r.status == 0, "\(r.stderr)")
        let html = try page(dir + "/q.html")
        #expect(html.contains("id=\"size\"") && html.contains("id=\"plan\"") && html.contains("q4_0"))
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href="))
        #expect(!html.contains("id=\"compare\""))
    }

    @Test func aPrunedStudentShowsTheBlocksItKeeps() throws {
        #expect(try KDQBinary.run(["student", f + "/tiny-random.pt", "-o", dir + "/s.kdq", "--decoder-layers", "1", "--select", "0"]).status == 0)
        let r = try KDQBinary.run(["report", dir + "/s.kdq", "-o", dir + "/s.html"])
        #expect(r.status == 0, "\(r.stderr)")
        let html = try page(dir + "/s.html")
        #expect(html.contains("Layer-pruned student") && html.contains("Keeps teacher decoder blocks 0 of 2"), "\(html.suffix(600))")
    }

    /// tiny.en's uniform q4_0 against tiny.en: the comparison's per-block errors, cross-attention
    /// divergence and KL by position are charted (release binary).
    @Test(.enabled(if: tinyEn != nil && release, "needs models/tiny.en and KDQ_BIN (a release kdq)"))
    func aComparisonWithTheTeacherIsCharted() throws {
        #expect(try KDQBinary.run(["quantize", Self.tinyEn!, "-o", dir + "/q4.kdq", "--uniform", "q4_0"]).status == 0)
        let r = try KDQBinary.run(["report", dir + "/q4.kdq", "--teacher", Self.tinyEn!, "--audio", calibration, "-o", dir + "/t.html"])
        #expect(r.status == 0, "\(r.stderr)")
        let html = try page(dir + "/t.html")
        for title in ["Hidden-state error per block", "Cross-attention divergence per decoder block", "KL by token position", "Evaluation"] {
            #expect(html.contains(title), "\(title)")
        }
    }
}
