import Foundation
import KDQJSON
import Testing

/// `kdq import`, `export` and `verify` through the built binary.
@Suite struct ArchiveCLITests {
    let f = KDQBinary.fixtures
    let dir = KDQBinary.scratchDirectory("cli")

    @Test(arguments: [["import"], ["export"], ["verify"]])
    func help(_ command: [String]) throws {
        let r = try KDQBinary.run(command + ["--help"])
        #expect(r.status == 0 && r.stdout.contains("USAGE"))
    }

    @Test func importVerifyExportRoundTrip() throws {
        let archive = dir + "/m.kdq"
        let imported = try KDQBinary.run(["import", f + "/ggml-tiny-random-q5_1.bin", "-o", archive, "--json"])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(try JSONValue.parse(imported.stdout)["tensors"]?.intValue == 89)
        let verified = try KDQBinary.run(["verify", archive, "--json"])
        #expect(verified.status == 0)
        #expect(try JSONValue.parse(verified.stdout)["valid"]?.boolValue == true)
        let exported = try KDQBinary.run(["export", archive, "--to", "ggml", "-o", dir + "/m.bin", "--json"])
        #expect(exported.status == 0)
        #expect(try JSONValue.parse(exported.stdout)["conversions"]?.arrayValue?.isEmpty == true)
        let diff = try KDQBinary.run(["diff", f + "/ggml-tiny-random-q5_1.bin", dir + "/m.bin", "--fail-on-difference"])
        #expect(diff.status == 0, "\(diff.stdout)")
    }

    /// No command exits 0 after writing a model its runtime cannot use: a checkpoint without a
    /// vocabulary is not exported for whisper.cpp or faster-whisper, nor as an OpenAI
    /// checkpoint whose vocabulary size names no tokenizer openai-whisper has.
    @Test(arguments: ["ggml", "ct2", "pt"])
    func exportWithoutVocabularyFailsAndWritesNothing(_ target: String) throws {
        let r = try KDQBinary.run(["export", f + "/tiny-random.pt", "--to", target, "-o", dir + "/novocab-" + target])
        let reason = target == "pt" ? "no release's" : "carries no vocabulary"
        #expect(r.status != 0 && r.stderr.contains(reason) && r.stderr.contains("nothing was written"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/novocab-" + target))
    }

    /// The real models as OpenAI checkpoints written by kdq transcribe as the originals do (the
    /// text openai-whisper gives: scripts/pt-dev-identity.py, 306/306 dev clips; release binary).
    @Test(.enabled(if: KDQBinary.isRelease && FileManager.default.fileExists(atPath: KDQBinary.packageRoot + "/models/base/model.bin"),
                   "needs scripts/fetch-models.sh and KDQ_BIN (a release kdq)"),
          arguments: ["tiny.en", "base"])
    func realModelsExportedToPTTranscribeAsTheOriginals(_ name: String) throws {
        let model = KDQBinary.packageRoot + "/models/" + name, pt = dir + "/\(name).pt"
        let jfk = KDQBinary.packageRoot + "/samples/jfk.wav"
        #expect(try KDQBinary.run(["export", model, "--to", "pt", "-o", pt]).status == 0)
        let original = try KDQBinary.run(["transcribe", model, jfk, "--language", "en"])
        let exported = try KDQBinary.run(["transcribe", pt, jfk, "--language", "en"])
        #expect(exported.status == 0 && original.status == 0, "\(exported.stderr)")
        #expect(exported.stdout == original.stdout && exported.stdout.contains("ask not what your country can do for you"), "\(exported.stdout)")
    }

    @Test func exportReportsConversions() throws {
        let r = try KDQBinary.run(["export", f + "/ct2-int8", "--to", "ggml", "-o", dir + "/int8.bin"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("int8_rows -> q8_0"))
        #expect(r.stdout.contains("note: the source has no mel filters"))
    }

    @Test func importWithBlockDtypeQuantizesTheMatrices() throws {
        let r = try KDQBinary.run(["import", f + "/reference-f32.safetensors", "-o", dir + "/q4.kdq", "--dtype", "q4_0"])
        #expect(r.status == 0)
        let inspect = try JSONValue.parse(try KDQBinary.run(["inspect", dir + "/q4.kdq", "--json"]).stdout)
        let encodings = inspect["bytes_by_encoding"]?.arrayValue?.compactMap { $0["encoding"]?.stringValue } ?? []
        #expect(encodings == ["f32", "q4_0"])
    }

    @Test func verifyFailsOnCorruption() throws {
        let archive = dir + "/c.kdq"
        #expect(try KDQBinary.run(["import", f + "/ct2-float16", "-o", archive]).status == 0)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: archive)))
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: archive))
        let r = try KDQBinary.run(["verify", archive])
        #expect(r.status == 1)
        #expect(r.stdout.contains("SHA-256") || r.stdout.contains("digest"))
    }

    @Test func importOfBadInputLeavesNoOutput() throws {
        let bad = dir + "/bad.bin"
        FileManager.default.createFile(atPath: bad, contents: Data(repeating: 7, count: 100))
        let r = try KDQBinary.run(["import", bad, "-o", dir + "/never.kdq"])
        #expect(r.status != 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["bad.bin"])
    }

    /// Ctrl-C while writing leaves no temporary file, and either no output or (when the
    /// interrupt came after the rename) a complete one.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: KDQBinary.packageRoot + "/models/base/model.bin")))
    func interruptLeavesNoPartialOutput() throws {
        for delay in [0.2, 0.5, 0.9] {
            let out = dir + "/interrupted-\(delay).kdq"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: KDQBinary.path)
            p.arguments = ["import", KDQBinary.packageRoot + "/models/base", "-o", out, "--compress", "zstd"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            Thread.sleep(forTimeInterval: delay)
            p.interrupt()
            p.waitUntilExit()
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("interrupted-\(delay)") }
            #expect(p.terminationReason == .uncaughtSignal, "kdq finished before the interrupt at \(delay) s")
            #expect(leftovers.allSatisfy { !$0.contains("tmp") }, "temporary files left behind: \(leftovers)")
            if !leftovers.isEmpty { #expect(try KDQBinary.run(["verify", out]).status == 0, "a partial output at \(delay) s") }
        }
    }
}
