import Foundation
import KDQJSON
import Testing

/// `kdq compress` on the built binary.
@Suite struct CompressCLITests {
    static let tinyEn = KDQBinary.tinyEn
    static let release = KDQBinary.isRelease
    var calibration: String { KDQBinary.packageRoot + "/samples/calibration.jsonl" }

    @Test func help() throws {
        let r = try KDQBinary.run(["compress", "--help"])
        #expect(r.status == 0 && r.stdout.contains("--target-mb") && r.stdout.contains("--depths") && r.stdout.contains("--probe-steps"))
    }

    @Test(arguments: [["--depths", "0"], ["--depths", "2,x"], ["--target-mb", "-1"], ["--probe-steps", "0"], ["--alpha", "2"],
                      ["--keep", "encoder*=q3_k"], ["--candidates", "q4_K,q9"], ["--encoder-covariances", "clips"], ["--input-scaling", "f32"]])
    func badOptionsAreRefused(_ bad: [String]) throws {
        var arguments = ["compress", KDQBinary.fixtures + "/tiny-random.pt", "-o", "/tmp/never.kdq", "--target-mb", "1", "--data", "d.jsonl",
                         "--calibration", calibration]
        if let i = arguments.firstIndex(of: bad[0]) { arguments.remove(at: i + 1); arguments.remove(at: i) }
        let r = try KDQBinary.run(arguments + bad)
        #expect(r.status != 0 && r.stderr.contains(bad[0]), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never.kdq"))
    }

    @Test(.enabled(if: tinyEn != nil, "needs scripts/fetch-models.sh"))
    func aDepthTheTeacherDoesNotExceedIsRequired() throws {
        let dir = KDQBinary.scratchDirectory("compress-depth")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try KDQBinary.run(["compress", Self.tinyEn!, "-o", dir + "/c.kdq", "--target-mb", "20", "--data", try KDQBinary.sampleManifest(in: dir, count: 4),
                                   "--calibration", calibration, "--depths", "2,5"])
        #expect(r.status != 0 && r.stderr.contains("at most the teacher's 4 decoder blocks"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/c.kdq"))
    }

    /// A budget no candidate depth can reach is refused before anything is measured, naming
    /// each depth's smallest size.
    @Test(.enabled(if: tinyEn != nil, "needs scripts/fetch-models.sh"))
    func aBudgetNoStudentReachesIsRefusedAtOnce() throws {
        let dir = KDQBinary.scratchDirectory("compress-small")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try KDQBinary.run(["compress", Self.tinyEn!, "-o", dir + "/c.kdq", "--target-mb", "12", "--data", try KDQBinary.sampleManifest(in: dir, count: 4),
                                   "--calibration", calibration, "--depths", "1,2"])
        #expect(r.status != 0 && r.stderr.contains("no student fits 12.0 MB") && r.stderr.contains("1 decoder blocks")
                && r.stderr.contains("2 decoder blocks") && r.stderr.contains("smallest reachable size"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/c.kdq"))
    }

    /// `kdq compress` of tiny.en into DIR/OUTPUT, small: one calibration utterance, `clips` sample
    /// clips (two held back), `epochs` of batches of 4, `--json`; expects exit 0.
    func compressTinyEn(in dir: String, output: String = "c.kdq", targetMB: Int, clips: Int, epochs: Int = 1, _ options: [String]) throws -> KDQBinary.Result {
        let r = try KDQBinary.run(["compress", Self.tinyEn!, "-o", dir + "/" + output, "--target-mb", String(targetMB),
                                   "--data", try KDQBinary.sampleManifest(in: dir, count: clips), "--calibration", calibration, "--calibration-count", "1",
                                   "--validation", "2", "--epochs", String(epochs), "--batch", "4", "--json"] + options)
        #expect(r.status == 0, "\(r.stderr)")
        return r
    }

    /// The whole pipeline on tiny.en, small: a pruned student and the whole decoder compared, the winner
    /// trained through its plan; the file fits the budget and carries every record
    /// (release binary: a debug engine takes minutes over tiny.en).
    @Test(.enabled(if: tinyEn != nil && release, "needs models/tiny.en and KDQ_BIN (a release kdq)"))
    func compressesToTheBudgetAndRecordsTheChoice() throws {
        let dir = KDQBinary.scratchDirectory("compress")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try compressTinyEn(in: dir, targetMB: 24, clips: 10, ["--depths", "2,4", "--selection-clips", "2", "--probe-steps", "2"])
        let report = try JSONValue.parse(r.stdout)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: dir + "/c.kdq")[.size] as? Int)
        #expect(size <= 24_000_000 && report["archive_bytes"]?.intValue == size, "\(size) bytes, predicted \(String(describing: report["archive_bytes"]))")
        let depths = Set((report["candidates"]?.arrayValue ?? []).compactMap { $0["decoder_layers"]?.arrayValue?.count })
        #expect(depths == [2, 4], "\(r.stdout.prefix(600))")
        // The whole decoder starts at the teacher: scored without probe steps.
        let probeSteps = (report["candidates"]?.arrayValue ?? []).map { ($0["decoder_layers"]?.arrayValue?.count, $0["probe_steps"]?.intValue) }
        #expect(probeSteps.allSatisfy { $0.1 == ($0.0 == 4 ? 0 : 2) }, "\(probeSteps)")
        #expect(report["unreachable"]?.arrayValue?.isEmpty == true, "\(r.stdout.prefix(600))")
        #expect(report["student_encoder_outputs"]?.stringValue == "own", "\(r.stdout.prefix(600))")
        // The trained student is written only if it is closer to the teacher than its start.
        let outcome = try #require(report["outcome"]), start = try #require(outcome["start_kl"]?.doubleValue)
        let trained = try #require(outcome["trained_kl"]?.doubleValue)
        #expect(outcome["kept"]?.stringValue == (trained < start ? "trained" : "start") && report["mean_kl"]?.doubleValue == min(start, trained),
                "\(outcome.serialized(pretty: false))")
        // The teacher's profile is kept in the work directory for a rerun.
        #expect(FileManager.default.fileExists(atPath: dir + "/c.kdq.work/teacher-profile.json"))
        #expect(try KDQBinary.run(["verify", dir + "/c.kdq"]).status == 0)
        let plan = try KDQBinary.run(["inspect", dir + "/c.kdq", "--plan", "--json"])
        let manifest = try JSONValue.parse(plan.stdout)
        #expect(manifest["encodings"]?["method"]?.stringValue == "guided", "\(plan.stdout.prefix(300))")
        let inspect = try KDQBinary.run(["inspect", dir + "/c.kdq", "--json"])
        let layers = try JSONValue.parse(inspect.stdout)["dims"]?["n_text_layer"]?.intValue
        #expect(layers == report["decoder_layers"]?.arrayValue?.count)
        let transcript = try KDQBinary.run(["transcribe", dir + "/c.kdq", KDQBinary.packageRoot + "/samples/jfk.wav"])
        #expect(transcript.status == 0, "\(transcript.stderr)")
        let page = try KDQBinary.run(["report", dir + "/c.kdq", "-o", dir + "/c.html"])
        #expect(page.status == 0, "\(page.stderr)")
        let html = try String(contentsOfFile: dir + "/c.html", encoding: .utf8)
        for section in ["id=\"plan\"", "id=\"distillation\"", "How the student was chosen", "KL from the teacher on the calibration audio", "Loss curves",
                        "Size against predicted KL"] {
            #expect(html.contains(section), "\(section)")
        }

        // Training that only makes the student worse (a learning rate far too large) is not
        // what gets written: the untrained student in the same encodings is, and the archive
        // says so. (This run reuses the first one's labelled clips and teacher profile.)
        let again = dir + "/again"
        try FileManager.default.createDirectory(atPath: again, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/c.kdq.work/teacher-profile.json", toPath: again + "/teacher-profile.json")
        // Its first encoder block's MLP matrices are pinned (--keep, as `kdq quantize`): the plan around them.
        let worse = try compressTinyEn(in: dir, output: "worse.kdq", targetMB: 24, clips: 10,
                                       ["--depths", "4", "--lr", "30", "--warmup", "0", "--work-dir", again, "--clip-cache", dir + "/c.kdq.work/clips",
                                        "--keep", "encoder.blocks.0.mlp.*.weight=q8_0"])
        let kept = try #require(try JSONValue.parse(worse.stdout)["outcome"])
        #expect(kept["kept"]?.stringValue == "start", "\(kept.serialized(pretty: false))")
        let tensors = try JSONValue.parse(try KDQBinary.run(["inspect", dir + "/worse.kdq", "--json"]).stdout)["tensors"]?.arrayValue ?? []
        let mlp = tensors.filter { t in
            let name = t["name"]?.stringValue ?? ""
            return name.hasPrefix("encoder.blocks.0.mlp.") && name.hasSuffix(".weight")
        }
        #expect(mlp.count == 2 && mlp.allSatisfy { $0["encoding"]?.stringValue == "q8_0" }, "\(mlp.map { $0.serialized(pretty: false) })")
        #expect(try KDQBinary.run(["report", dir + "/worse.kdq", "-o", dir + "/worse.html"]).status == 0)
        #expect(try String(contentsOfFile: dir + "/worse.html", encoding: .utf8).contains("Training raised"))
    }

    /// With GPTQ, the decoder's covariances come from teacher-labelled training clips
    /// (`--covariance-clips`), and the plan's record says which and how many tokens.
    @Test(.enabled(if: tinyEn != nil && release, "needs models/tiny.en and KDQ_BIN (a release kdq)"))
    func covarianceWeightingTakesTheDecodersRowsFromTrainingClips() throws {
        let dir = KDQBinary.scratchDirectory("compress-covariance")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try compressTinyEn(in: dir, targetMB: 24, clips: 8, ["--depths", "4", "--weighting", "covariance", "--covariance-clips", "5"])
        let plan = try JSONValue.parse(try KDQBinary.run(["inspect", dir + "/c.kdq", "--plan", "--json"]).stdout)
        let encodings = try #require(plan["encodings"])
        #expect(encodings["weighting"]?.stringValue == "covariance")
        let record = try #require(encodings["decoder_covariances"], "\(encodings.serialized(pretty: false).prefix(400))")
        let sequences = try #require(record["sequences"]?.intValue), tokens = try #require(record["tokens"]?.intValue)
        #expect((1...5).contains(sequences) && tokens > 3 * sequences, "\(record.serialized(pretty: false))")
        #expect(record["manifest"]?.stringValue?.hasSuffix(".jsonl") == true)
        let text = try KDQBinary.run(["inspect", dir + "/c.kdq", "--plan"]).stdout
        #expect(text.contains("errors compensated (GPTQ)") && text.contains("covariances decoder's from \(sequences) clips"), "\(text.prefix(400))")
    }

    /// SIGTERM before training has started (here while the clips are labelled and the teacher
    /// profiled) ends the run at once, as the signal's default does, and writes nothing; a stop
    /// is deferred to the end of a step only once training asks for it.
    @Test(.enabled(if: tinyEn != nil && release, "needs models/tiny.en and KDQ_BIN (a release kdq)"))
    func aStopBeforeTrainingEndsTheRunAtOnce() throws {
        let dir = KDQBinary.scratchDirectory("compress-stopped")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: KDQBinary.path)
        p.arguments = ["compress", Self.tinyEn!, "-o", dir + "/c.kdq", "--target-mb", "24", "--data", try KDQBinary.sampleManifest(in: dir, count: 6),
                       "--calibration", calibration, "--calibration-count", "1", "--validation", "2", "--epochs", "0", "--depths", "4"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        Thread.sleep(forTimeInterval: 2)
        p.terminate()
        let signalled = Date()
        while p.isRunning && Date().timeIntervalSince(signalled) < 20 { Thread.sleep(forTimeInterval: 0.1) }
        let stillRunning = p.isRunning
        if stillRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        #expect(!stillRunning, "kdq compress was still running 20 s after SIGTERM")
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGTERM, "exit \(p.terminationStatus)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.hasSuffix(".kdq") && !$0.contains("kdq-tmp") })
    }

    /// `--epochs 0`: the chosen student is written untrained in its planned encodings, and the
    /// record says no training was asked for (no trained KL, no steps).
    @Test(.enabled(if: tinyEn != nil && release, "needs models/tiny.en and KDQ_BIN (a release kdq)"))
    func noEpochsWritesThePlanUntrained() throws {
        let dir = KDQBinary.scratchDirectory("compress-untrained")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try compressTinyEn(in: dir, targetMB: 24, clips: 6, epochs: 0, ["--depths", "4"])
        let report = try JSONValue.parse(r.stdout)
        let outcome = try #require(report["outcome"]), start = try #require(outcome["start_kl"]?.doubleValue)
        #expect(outcome["trained_kl"] == .null && outcome["kept"]?.stringValue == "start", "\(outcome.serialized(pretty: false))")
        #expect(report["steps"]?.intValue == 0 && report["student_encoder_outputs"] == .null && report["mean_kl"]?.doubleValue == start)
        #expect(try KDQBinary.run(["verify", dir + "/c.kdq"]).status == 0)
        #expect(try KDQBinary.run(["report", dir + "/c.kdq", "-o", dir + "/c.html"]).status == 0)
        #expect(try String(contentsOfFile: dir + "/c.html", encoding: .utf8).contains("No recovery training (0 epochs)"))
    }
}
