import Foundation
import KDQJSON
import Testing

/// Every writer under failure: a full disk (a file-size limit), a destination it may not
/// write, SIGKILL at points spread over a run, and two writers racing for one output. Each
/// ends with a clear error or a complete file: never part of one under the final name, never
/// a damaged source or previous output, and no temporary file left once a later run is done.
@Suite struct FailureInjectionTests {
    /// One writer of the CLI: its arguments before `-o`, and whether its output is a directory.
    enum Writer: String, CaseIterable, Sendable {
        case ggml, ct2, hf, pt, kdqImport, quantize

        var arguments: [String] {
            let ggmlSource = KDQBinary.fixtures + "/ggml-tiny-random-f16.bin"
            switch self {
            case .ggml, .ct2, .hf: return ["export", ggmlSource, "--to", rawValue]
            case .pt: return ["export", KDQBinary.fixtures + "/random-v3.pt", "--to", "pt"]
            case .kdqImport: return ["import", ggmlSource]
            case .quantize: return ["quantize", ggmlSource, "--uniform", "q4_0"]
            }
        }

        var isDirectory: Bool { self == .ct2 || self == .hf }
        var outputName: String { isDirectory ? "model" : "model.out" }
    }

    /// What a file or directory output holds: file name → bytes (one entry, "", for a file).
    static func contents(_ path: String) -> [String: Data] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [:] }
        guard isDirectory.boolValue else { return ["": FileManager.default.contents(atPath: path) ?? Data()] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return Dictionary(uniqueKeysWithValues: names.map { ($0, FileManager.default.contents(atPath: path + "/" + $0) ?? Data()) })
    }

    /// Puts a previous output at `path` (a file, or a directory of one file).
    static func placePrevious(_ path: String, directory: Bool) throws {
        if directory {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try Data("previous".utf8).write(to: URL(fileURLWithPath: path + "/previous.txt"))
        } else {
            try Data("previous".utf8).write(to: URL(fileURLWithPath: path))
        }
    }

    static func entries(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    /// Not under ThreadSanitizer (`scripts/sanitize.sh thread` sets `KDQ_SANITIZER`): its
    /// runtime faults in its own `pthread_create` interceptor under a 4 KB file-size limit, even
    /// for `kdq --help`.
    @Test(.disabled(if: ProcessInfo.processInfo.environment["KDQ_SANITIZER"] == "thread", "ThreadSanitizer's runtime faults under prlimit --fsize"),
          arguments: Writer.allCases)
    func aFullDiskIsAClearErrorAndKeepsThePreviousOutput(_ writer: Writer) throws {
        let dir = KDQBinary.scratchDirectory("full-\(writer.rawValue)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/" + writer.outputName
        try Self.placePrevious(out, directory: writer.isDirectory)
        let before = Self.contents(out)
        let r = try KDQBinary.run(writer.arguments + ["-o", out], launcher: ["/usr/bin/prlimit", "--fsize=4096"])
        #expect(r.status == 1, "a failed write exits 1 (not killed by SIGXFSZ): \(r.status) \(r.stderr)")
        #expect(r.stderr.contains("File too large") && r.stderr.contains(out), "the error names the output and the reason: \(r.stderr)")
        #expect(!r.stderr.contains("kdq-tmp"), "the error names the destination, not the temporary file: \(r.stderr)")
        #expect(Self.contents(out) == before, "the previous output is untouched")
        #expect(Self.entries(dir) == [writer.outputName], "no temporary file is left: \(Self.entries(dir))")
    }

    @Test(arguments: Writer.allCases)
    func aDestinationThatCannotBeWrittenIsAClearError(_ writer: Writer) throws {
        let dir = KDQBinary.scratchDirectory("readonly-\(writer.rawValue)")
        defer {
            chmod(dir + "/out", 0o755)
            try? FileManager.default.removeItem(atPath: dir)
        }
        var arguments = writer.arguments
        let source = arguments[1]
        let sourceBytes = FileManager.default.contents(atPath: source)
        var launcher: [String] = [], binary: String?
        if getuid() == 0 {
            // root writes anywhere: run as nobody, with a copy of kdq (and its resources) and of
            // the source that nobody can read wherever the checkout is.
            let bin = dir + "/bin"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            let built = URL(fileURLWithPath: KDQBinary.path).deletingLastPathComponent().path
            try FileManager.default.copyItem(atPath: KDQBinary.path, toPath: bin + "/kdq")
            for name in Self.entries(built) where name.hasSuffix(".resources") {
                try FileManager.default.copyItem(atPath: built + "/" + name, toPath: bin + "/" + name)
            }
            let copy = dir + "/" + URL(fileURLWithPath: source).lastPathComponent
            try FileManager.default.copyItem(atPath: source, toPath: copy)
            arguments[1] = copy
            chmod(dir, 0o755)
            launcher = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            binary = bin + "/kdq"
        }
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        chmod(dir + "/out", 0o555)
        let out = dir + "/out/" + writer.outputName
        let r = try KDQBinary.run(arguments + ["-o", out], launcher: launcher, binary: binary)
        #expect(r.status == 1, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("Permission denied") && r.stderr.contains(writer.outputName), "\(r.stderr)")
        #expect(Self.entries(dir + "/out").isEmpty)
        #expect(FileManager.default.contents(atPath: arguments[1]) == sourceBytes, "the source is untouched")
    }

    /// SIGKILL cannot be handled: whatever point it hits, the destination holds the previous
    /// output or the complete new one, and the next run removes what the killed one left.
    @Test(arguments: [Writer.ggml, .ct2, .kdqImport])
    func aKillAtAnyPointLeavesThePreviousOrTheCompleteOutput(_ writer: Writer) throws {
        let dir = KDQBinary.scratchDirectory("kill-\(writer.rawValue)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/" + writer.outputName
        let reproducible = ["/usr/bin/env", "SOURCE_DATE_EPOCH=1700000000"]  // archives record their creation time
        let started = Date()
        let reference = try KDQBinary.run(writer.arguments + ["-o", out], launcher: reproducible)
        let seconds = Date().timeIntervalSince(started)
        #expect(reference.status == 0, "\(reference.stderr)")
        let complete = Self.contents(out)
        try FileManager.default.removeItem(atPath: out)
        try Self.placePrevious(out, directory: writer.isDirectory)
        let previous = Self.contents(out)
        for k in 0..<10 {
            let p = try KDQBinary.start(writer.arguments + ["-o", out], launcher: reproducible)
            usleep(useconds_t(seconds * Double(k) / 8 * 1_000_000))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let now = Self.contents(out)
            #expect(now == previous || now == complete, "after a kill at \(k)/8 of a run the output is neither the previous nor the complete one")
            if now == complete {
                try FileManager.default.removeItem(atPath: out)
                try Self.placePrevious(out, directory: writer.isDirectory)
            }
        }
        #expect(try KDQBinary.run(writer.arguments + ["-o", out], launcher: reproducible).status == 0)
        #expect(Self.contents(out) == complete)
        #expect(Self.entries(dir) == [writer.outputName], "the killed runs' temporary files are gone: \(Self.entries(dir))")
    }

    @Test func twoWritersToOneOutputLeaveOneCompleteFile() throws {
        let dir = KDQBinary.scratchDirectory("race")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sources = ["/ggml-tiny-random-f16.bin", "/ggml-tiny-random-q8_0.bin"].map { KDQBinary.fixtures + $0 }
        var complete: [Data] = []
        for (k, s) in sources.enumerated() {
            #expect(try KDQBinary.run(["export", s, "--to", "ggml", "-o", dir + "/ref\(k).bin"]).status == 0)
            complete.append(FileManager.default.contents(atPath: dir + "/ref\(k).bin") ?? Data())
        }
        #expect(complete[0] != complete[1])
        for _ in 0..<3 {
            let writers = try sources.map { try KDQBinary.start(["export", $0, "--to", "ggml", "-o", dir + "/out.bin"]) }
            for w in writers { w.waitUntilExit() }
            #expect(writers.allSatisfy { $0.terminationStatus == 0 })
            let written = FileManager.default.contents(atPath: dir + "/out.bin")
            #expect(written == complete[0] || written == complete[1], "the output is one writer's complete file")
            #expect(Self.entries(dir) == ["out.bin", "ref0.bin", "ref1.bin"])
        }
    }

    static let tiny = KDQBinary.packageRoot + "/models/tiny.en"
    static let realModels = FileManager.default.fileExists(atPath: tiny + "/model.bin")

    static func jfkManifest(_ dir: String, clips: Int, text: Bool) throws -> String {
        let jfk = KDQBinary.packageRoot + "/samples/jfk.wav"
        let reference = text ? ", \"text\": \"And so my fellow Americans, ask not what your country can do for you.\"" : ""
        let lines = (0..<clips).map { "{\"id\": \"jfk\($0)\", \"audio\": \"\(jfk)\"\(reference)}" }
        let path = dir + "/m.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Waits until `ready` holds (or the process ends, or 60 s pass), then kills the process.
    static func killWhen(_ p: Process, _ ready: () -> Bool) {
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && !ready() && Date() < deadline { usleep(20_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    @Test(.enabled(if: FailureInjectionTests.realModels && KDQBinary.isRelease, "needs scripts/fetch-models.sh and KDQ_BIN (a release kdq)"))
    func evalContinuesAfterAKill() throws {
        let dir = KDQBinary.scratchDirectory("eval-kill")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let manifest = try Self.jfkManifest(dir, clips: 4, text: true)
        let whole = try KDQBinary.run(["eval", "--manifest", manifest, "--model", Self.tiny, "--json"])
        #expect(whole.status == 0, "\(whole.stderr)")
        let out = dir + "/results.jsonl"
        let p = try KDQBinary.start(["eval", "--manifest", manifest, "--model", Self.tiny, "--out", out])
        Self.killWhen(p) { (FileManager.default.contents(atPath: out)?.count ?? 0) > 0 }
        let resumed = try KDQBinary.run(["eval", "--manifest", manifest, "--model", Self.tiny, "--out", out, "--json"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let rows = { (r: KDQBinary.Result) in try JSONValue.parse(r.stdout)["models"]?.arrayValue?.first }
        #expect(try rows(resumed)?["utterances"]?.intValue == 4)
        #expect(try rows(resumed)?["wer"]?.doubleValue == rows(whole)?["wer"]?.doubleValue)
        #expect(try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").count == 4)
    }

    @Test(.enabled(if: FailureInjectionTests.realModels && KDQBinary.isRelease, "needs scripts/fetch-models.sh and KDQ_BIN (a release kdq)"))
    func distillResumesAfterAKillToTheSameResult() throws {
        let dir = KDQBinary.scratchDirectory("distill-kill")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let manifest = try Self.jfkManifest(dir, clips: 6, text: false)
        #expect(try KDQBinary.run(["student", Self.tiny, "-o", dir + "/s.kdq", "--decoder-layers", "2", "--select", "0,3"]).status == 0)
        func distill(_ work: String, _ extra: [String] = []) -> [String] {
            ["distill", Self.tiny, dir + "/s.kdq", "--data", manifest, "-o", dir + "/\(work).kdq", "--work-dir", dir + "/" + work,
             "--validation", "2", "--epochs", "2", "--batch", "2", "--checkpoint-every", "1", "--json"] + extra
        }
        let whole = try KDQBinary.run(distill("whole"))
        #expect(whole.status == 0, "\(whole.stderr)")
        let checkpointWritten = {
            FileManager.default.enumerator(atPath: dir + "/killed")?.contains { ($0 as? String)?.hasSuffix("training.checkpoint") == true } == true
        }
        Self.killWhen(try KDQBinary.start(distill("killed")), checkpointWritten)
        #expect(!FileManager.default.fileExists(atPath: dir + "/killed.kdq"))
        let resumed = try KDQBinary.run(distill("killed", ["--resume"]))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try JSONValue.parse(whole.stdout), b = try JSONValue.parse(resumed.stdout)
        for key in ["steps", "validation_kl", "training_loss"] {
            #expect(a[key]?.doubleValue == b[key]?.doubleValue, "\(key): \(a[key].map { "\($0)" } ?? "-") uninterrupted, \(b[key].map { "\($0)" } ?? "-") resumed")
        }
    }
}
