import Foundation
import KDQJSON
import KDQTestSupport
import Testing

/// Runs the built `kdq` binary (next to the test bundle; `swift build` first).
enum KDQBinary {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("KDQFormatsTests/Fixtures").path
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The real tiny.en (`scripts/fetch-models.sh`), when it is there.
    static let tinyEn: String? = {
        let d = packageRoot + "/models/tiny.en"
        return FileManager.default.fileExists(atPath: d + "/model.bin") ? d : nil
    }()
    /// Whether the binary under test is a release build (`KDQ_BIN`, as scripts/test.sh sets it).
    static let isRelease = ProcessInfo.processInfo.environment["KDQ_BIN"] != nil

    static var path: String {
        if let p = ProcessInfo.processInfo.environment["KDQ_BIN"] { return p }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while dir.path != "/" && !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("kdq").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("kdq").path
    }

    /// A new empty folder under the system's temporary directory.
    /// A manifest in `dir` of `count` unlabelled copies of samples/jfk.wav (ids jfk0, jfk1, …):
    /// training data the teacher labels the same each time. Returns its path.
    static func sampleManifest(in dir: String, count: Int) throws -> String {
        let path = dir + "/data.jsonl"
        let lines = (0..<count).map { "{\"id\": \"jfk\($0)\", \"audio\": \"\(packageRoot)/samples/jfk.wav\"}" }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func scratchDirectory(_ label: String) -> String {
        let d = NSTemporaryDirectory() + "kdq-\(label)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs kdq with `arguments` to the end; `launcher` (a program and its arguments, such as
    /// `prlimit --fsize=N`) runs it instead when given, `binary` replaces the built kdq, and
    /// `environment` sets (or, with nil, removes) variables of the test's own environment.
    static func run(_ arguments: [String], launcher: [String] = [], binary: String? = nil,
                    environment: [String: String?] = [:]) throws -> Result {
        let p = process(arguments, launcher: launcher, binary: binary)
        if !environment.isEmpty {
            var merged = ProcessInfo.processInfo.environment
            for (name, value) in environment { merged[name] = value }
            p.environment = merged
        }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Starts kdq with `arguments` (output discarded; `launcher` as for `run`) and returns the running process.
    static func start(_ arguments: [String], launcher: [String] = []) throws -> Process {
        let p = process(arguments, launcher: launcher, binary: nil)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    private static func process(_ arguments: [String], launcher: [String], binary: String?) -> Process {
        let p = Process()
        let kdq = binary ?? path
        p.executableURL = URL(fileURLWithPath: launcher.first ?? kdq)
        p.arguments = launcher.isEmpty ? arguments : Array(launcher.dropFirst()) + [kdq] + arguments
        return p
    }
}

@Suite struct CLITests {
    let f = KDQBinary.fixtures

    @Test func binaryExists() {
        #expect(FileManager.default.isExecutableFile(atPath: KDQBinary.path), "build kdq first: \(KDQBinary.path)")
    }

    /// On a CPU with AVX2 and FMA, kdq's products run OpenBLAS's vector kernels even where
    /// OpenBLAS does not recognize the CPU (it then restarts itself with OPENBLAS_CORETYPE set);
    /// OPENBLAS_VERBOSE=2 makes OpenBLAS print the kernels it loads.
    @Test(.enabled(if: CPUFlags.has(["avx2", "fma"])))
    func runsOpenBLASVectorKernels() throws {
        let r = try KDQBinary.run(["--help"], environment: ["OPENBLAS_VERBOSE": "2", "OPENBLAS_CORETYPE": nil])
        #expect(r.status == 0)
        let cores = r.stderr.split(separator: "\n").filter { $0.hasPrefix("Core: ") }.map { $0.dropFirst(6).lowercased() }
        #expect(cores.last.map { ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"].contains($0) } == true,
                "OpenBLAS loaded \(cores) (stderr: \(r.stderr.prefix(300)))")
    }

    @Test(arguments: [[], ["inspect"], ["diff"]])
    func helpForEveryCommand(_ command: [String]) throws {
        let r = try KDQBinary.run(command + ["--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("USAGE"))
    }

    @Test func inspectPrintsTable() throws {
        let r = try KDQBinary.run(["inspect", f + "/ct2-int8"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("ctranslate2"))
        #expect(r.stdout.contains("decoder.blocks.1.cross_attn.value.weight"))
        #expect(r.stdout.contains("int8_rows"))
        #expect(r.stderr.isEmpty, "progress must stay quiet when not on a terminal")
    }

    @Test func inspectJSONWithStatsAndFilter() throws {
        let r = try KDQBinary.run(["inspect", f + "/tiny-random.pt", "--json", "--stats", "--filter", "*.mlp.0.weight"])
        #expect(r.status == 0)
        let json = try JSONValue.parse(r.stdout)
        #expect(json["format"]?.stringValue == "openai-pt")
        #expect(json["tensor_count"]?.intValue == 89)
        let tensors = try #require(json["tensors"]?.arrayValue)
        #expect(tensors.count == 4)
        #expect(tensors.allSatisfy { $0["stats"]?["std"]?.doubleValue ?? 0 > 0 })
    }

    @Test func diffOfSameWeightsInTwoFormatsIsIdentical() throws {
        let r = try KDQBinary.run(["diff", f + "/ct2-float16", f + "/tiny-random.pt", "--json"])
        #expect(r.status == 0)
        let json = try JSONValue.parse(r.stdout)
        #expect(json["identical"]?.boolValue == true)
        #expect(json["overall"]?["max_abs_error"]?.doubleValue == 0)
    }

    @Test func diffFailOnDifferenceExitsOne() throws {
        let r = try KDQBinary.run(["diff", f + "/reference-f32.safetensors", f + "/ggml-tiny-random-q4_0.bin", "--layers-only", "--fail-on-difference"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("decoder.blocks.0"))
        #expect(r.stdout.contains("different"))
    }

    @Test func badInputGivesMessageAndNonZeroExit() throws {
        let path = NSTemporaryDirectory() + "kdq-cli-garbage-\(UUID().uuidString).bin"
        FileManager.default.createFile(atPath: path, contents: Data("definitely not a model".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try KDQBinary.run(["inspect", path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("match no known format"))
        #expect(r.stderr.contains(path))
    }

    @Test func missingFileGivesMessage() throws {
        let r = try KDQBinary.run(["inspect", "/nonexistent/model.bin"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("/nonexistent/model.bin"))
    }
}

@Suite struct TranscribeCLITests {
    static let tiny = KDQBinary.packageRoot + "/models/tiny.en"

    @Test func help() throws {
        let r = try KDQBinary.run(["transcribe", "--help"])
        #expect(r.status == 0 && r.stdout.contains("--beam"))
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: tiny + "/model.bin")))
    func transcribesJFK() throws {
        let r = try KDQBinary.run(["transcribe", Self.tiny, KDQBinary.packageRoot + "/samples/jfk.wav"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("ask not what your country can do for you"))
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: tiny + "/model.bin")))
    func badAudioGivesErrorAndNonZeroExit() throws {
        let path = NSTemporaryDirectory() + "kdq-not-audio-\(UUID().uuidString).wav"
        FileManager.default.createFile(atPath: path, contents: Data("hello".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try KDQBinary.run(["transcribe", Self.tiny, path, "--json"])
        #expect(r.status == 1)
        #expect(r.stderr.contains(path))
        let json = try JSONValue.parse(r.stdout)
        #expect(json["results"]?.arrayValue?.first?["error"] != nil)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: tiny + "/model.bin")))
    func jsonReportsTimesAndPeakMemory() throws {
        let r = try KDQBinary.run(["transcribe", Self.tiny, KDQBinary.packageRoot + "/samples/jfk.wav", "--json"])
        let json = try JSONValue.parse(r.stdout)
        // At least the f32 weights of tiny.en are resident.
        #expect((json["peak_resident_bytes"]?.intValue ?? 0) > 100_000_000 && (json["load_seconds"]?.doubleValue ?? 0) > 0)
        let timings = json["results"]?.arrayValue?.first?["timings"]
        #expect((timings?["encode"]?.doubleValue ?? 0) > 0 && (timings?["decode"]?.doubleValue ?? 0) > 0)
        // The kernels behind the timings: CKernels' level, OpenBLAS's kernel set, the q8_0 integer products.
        let kernels = json["kernels"]
        #expect(["avx512", "avx2", "portable"].contains(kernels?["cpu"]?.stringValue ?? ""), "\(String(describing: kernels))")
        #expect(kernels?["blas"]?.stringValue?.isEmpty == false && kernels?["integer_q8_0"]?.boolValue != nil)
    }

    @Test func modelWithoutVocabularyIsAClearError() throws {
        let r = try KDQBinary.run(["transcribe", KDQBinary.fixtures + "/tiny-random.pt", KDQBinary.packageRoot + "/samples/jfk.wav"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("no vocabulary"))
    }
}
