import Foundation
import KDQJSON
import Testing

/// `kdq student` and `kdq distill` on the built binary.
@Suite struct DistillCLITests {
    let f = KDQBinary.fixtures
    static let realModels = KDQBinary.tinyEn != nil
        && FileManager.default.fileExists(atPath: KDQBinary.packageRoot + "/models/base/model.bin")

    @Test(arguments: [["student"], ["distill"]]) func help(_ command: [String]) throws {
        let r = try KDQBinary.run(command + ["--help"])
        #expect(r.status == 0 && r.stdout.contains("USAGE"))
    }

    @Test func evenStudentKeepsFirstAndLastAndRecordsTheChoice() throws {
        let dir = KDQBinary.scratchDirectory("student")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try KDQBinary.run(["student", f + "/tiny-random.pt", "-o", dir + "/s.kdq", "--decoder-layers", "1", "--select", "even", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONValue.parse(r.stdout)
        #expect(report["selection"]?["decoder_layers"]?.arrayValue?.compactMap(\.intValue) == [1])
        #expect(report["selection"]?["method"]?.stringValue == "even")
        let inspect = try KDQBinary.run(["inspect", dir + "/s.kdq", "--json"])
        #expect(try JSONValue.parse(inspect.stdout)["dims"]?["n_text_layer"]?.intValue == 1)
        #expect(try KDQBinary.run(["verify", dir + "/s.kdq"]).status == 0)
    }

    /// tiny.en with every block and its vocabulary trimmed to the words of the JFK clip: the
    /// same transcript, a smaller file, and no export to a format that needs every token.
    @Test(.enabled(if: KDQBinary.tinyEn != nil, "needs scripts/fetch-models.sh"))
    func aTrimmedVocabularyTranscribesAsTheWholeOne() throws {
        let dir = KDQBinary.scratchDirectory("student-trimmed")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let words = "and so my fellow Americans ask not what your country can do for you".split(separator: " ").joined(separator: "\n")
        try words.write(toFile: dir + "/words.txt", atomically: true, encoding: .utf8)
        let r = try KDQBinary.run(["student", KDQBinary.tinyEn!, "-o", dir + "/s.kdq", "--decoder-layers", "4", "--select", "even",
                                   "--keep-tokens-of", dir + "/words.txt", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let kept = try #require(try JSONValue.parse(r.stdout)["vocabulary"]?["kept_tokens"]?.intValue)
        #expect(kept > 1_600 && kept < 6_000, "\(kept) tokens kept")  // specials, timestamps, bytes, digits and punctuation, the words
        let whole = try KDQBinary.run(["transcribe", KDQBinary.tinyEn!, KDQBinary.packageRoot + "/samples/jfk.wav"])
        let trimmed = try KDQBinary.run(["transcribe", dir + "/s.kdq", KDQBinary.packageRoot + "/samples/jfk.wav"])
        #expect(trimmed.status == 0 && trimmed.stdout == whole.stdout, "\(trimmed.stdout) \(trimmed.stderr)")
        let export = try KDQBinary.run(["export", dir + "/s.kdq", "--to", "ggml", "-o", dir + "/s.bin"])
        #expect(export.status != 0 && export.stderr.contains("trimmed vocabulary"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/s.bin"))
    }

    /// A trimmed model lacking a token of the whole model's transcript (" country" is not among
    /// the words) is still measured against it: the transcript is forced up to that token.
    @Test(.enabled(if: KDQBinary.tinyEn != nil, "needs scripts/fetch-models.sh"))
    func klFromTheWholeModelStopsAtTheFirstTokenATrimmedOneLacks() throws {
        let dir = KDQBinary.scratchDirectory("student-trimmed-kl")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "and\nso\nmy\nfellow\nAmericans\nask\nnot\nwhat\nyour\n".write(toFile: dir + "/words.txt", atomically: true, encoding: .utf8)
        let student = try KDQBinary.run(["student", KDQBinary.tinyEn!, "-o", dir + "/s.kdq", "--decoder-layers", "4", "--select", "even",
                                         "--keep-tokens-of", dir + "/words.txt"])
        #expect(student.status == 0, "\(student.stderr)")
        let jfk = KDQBinary.packageRoot + "/samples/jfk.wav"
        try #"{"id": "jfk", "audio": "\#(jfk)", "text": "And so my fellow Americans, ask not what your country can do for you."}"#
            .write(toFile: dir + "/set.jsonl", atomically: true, encoding: .utf8)
        let r = try KDQBinary.run(["eval", "--manifest", dir + "/set.jsonl", "--model", KDQBinary.tinyEn!, "--model", dir + "/s.kdq",
                                   "--kl", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let kl = try #require(try JSONValue.parse(r.stdout)["models"]?.arrayValue?.last?["mean_kl"]?.doubleValue)
        print("KL of the trimmed model from tiny.en, forced up to ' country': \(kl)")
        #expect(kl.isFinite && kl > 0)
    }

    @Test func aWordListThatCannotBeReadIsAnError() throws {
        let dir = KDQBinary.scratchDirectory("student-words")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try KDQBinary.run(["student", f + "/tiny-random.pt", "-o", dir + "/s.kdq", "--decoder-layers", "1", "--select", "even",
                                   "--keep-tokens-of", dir + "/missing.txt"])
        #expect(r.status != 0 && r.stderr.contains("missing.txt"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/s.kdq"))
    }

    @Test func givenListMustMatchTheCountAndLayersMustExist() throws {
        let dir = KDQBinary.scratchDirectory("student-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mismatch = try KDQBinary.run(["student", f + "/tiny-random.pt", "-o", dir + "/s.kdq", "--decoder-layers", "2", "--select", "1"])
        #expect(mismatch.status != 0 && mismatch.stderr.contains("lists 1 layers"))
        let outside = try KDQBinary.run(["student", f + "/tiny-random.pt", "-o", dir + "/s.kdq", "--decoder-layers", "1", "--select", "7"])
        #expect(outside.status != 0 && outside.stderr.contains("within the model"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/s.kdq"))
    }

    @Test func measuredSelectionNeedsCalibration() throws {
        let r = try KDQBinary.run(["student", f + "/tiny-random.pt", "-o", "/tmp/never.kdq", "--decoder-layers", "1"])
        #expect(r.status != 0 && r.stderr.contains("--calibration"))
    }

    @Test(.enabled(if: DistillCLITests.realModels, "needs scripts/fetch-models.sh"))
    func differentTokenizersAreRefused() throws {
        let dir = KDQBinary.scratchDirectory("distill-vocab")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let manifest = dir + "/m.jsonl"
        try "{\"id\": \"jfk\", \"audio\": \"\(KDQBinary.packageRoot)/samples/jfk.wav\"}\n".write(toFile: manifest, atomically: true, encoding: .utf8)
        let models = KDQBinary.packageRoot + "/models/"
        let r = try KDQBinary.run(["distill", models + "base", models + "tiny.en", "--data", manifest, "-o", dir + "/o.kdq"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("tokenizer") && r.stderr.contains("multilingual"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/o.kdq"))
    }

    @Test(.enabled(if: DistillCLITests.realModels, "needs scripts/fetch-models.sh"))
    func aPretrainedStudentWithAnotherTokenizerIsRefused() throws {
        let models = KDQBinary.packageRoot + "/models/"
        let r = try KDQBinary.run(["student", models + "base", "--student", models + "tiny.en", "-o", "/tmp/never-student.kdq"])
        #expect(r.status != 0 && r.stderr.contains("English-only") && r.stderr.contains("multilingual"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never-student.kdq"))
    }

    @Test(arguments: [["--student", "x", "--decoder-layers", "2"], []])
    func aStudentIsPrunedOrPretrainedNotBoth(_ extra: [String]) throws {
        let r = try KDQBinary.run(["student", f + "/tiny-random.pt", "-o", "/tmp/never-student.kdq", "--select", "even"] + extra)
        #expect(r.status != 0 && r.stderr.contains("--student") && r.stderr.contains("--decoder-layers"), "\(r.stderr)")
    }

    /// A pretrained student (here tiny.en quantized to q4_0: another encoder than the teacher's)
    /// trains its decoder on its own encoder's outputs (release binary).
    @Test(.enabled(if: DistillCLITests.realModels && KDQBinary.isRelease,
                   "needs scripts/fetch-models.sh and KDQ_BIN (a release kdq)"))
    func aPretrainedStudentTrainsOnItsOwnEncoder() throws {
        let dir = KDQBinary.scratchDirectory("pretrained")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tiny = KDQBinary.packageRoot + "/models/tiny.en"
        #expect(try KDQBinary.run(["quantize", tiny, "-o", dir + "/q4.kdq", "--uniform", "q4_0"]).status == 0)
        let made = try KDQBinary.run(["student", tiny, "--student", dir + "/q4.kdq", "-o", dir + "/s.kdq", "--json"])
        #expect(made.status == 0, "\(made.stderr)")
        let manifest = try KDQBinary.sampleManifest(in: dir, count: 4)
        let r = try KDQBinary.run(["distill", tiny, dir + "/s.kdq", "--data", manifest, "-o", dir + "/d.kdq", "--validation", "1",
                                   "--epochs", "1", "--batch", "3", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try JSONValue.parse(r.stdout)["student_encoder_outputs"]?.stringValue == "own", "\(r.stdout)")
        #expect(try KDQBinary.run(["transcribe", dir + "/d.kdq", KDQBinary.packageRoot + "/samples/jfk.wav"]).status == 0)
    }

    /// --train-encoder: the encoder's blocks train through the plan's encodings on the clips'
    /// mel windows (release binary): the archive keeps the plan's q8_0 for them, with new values.
    @Test(.enabled(if: DistillCLITests.realModels && KDQBinary.isRelease,
                   "needs scripts/fetch-models.sh and KDQ_BIN (a release kdq)"))
    func theEncoderTrainsThroughItsPlannedEncodings() throws {
        let dir = KDQBinary.scratchDirectory("train-encoder")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tiny = KDQBinary.packageRoot + "/models/tiny.en"
        #expect(try KDQBinary.run(["quantize", tiny, "-o", dir + "/q8.kdq", "--uniform", "q8_0"]).status == 0)
        let manifest = try KDQBinary.sampleManifest(in: dir, count: 4)
        let r = try KDQBinary.run(["distill", tiny, tiny, "--plan", dir + "/q8.kdq", "--data", manifest, "-o", dir + "/d.kdq",
                                   "--validation", "1", "--epochs", "1", "--batch", "3", "--warmup", "1", "--train-encoder", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let record = try JSONValue.parse(r.stdout)
        #expect(record["student_encoder_outputs"]?.stringValue == "trained", "\(r.stdout)")
        let name = "encoder.blocks.0.mlp.0.weight"
        func tensor(_ path: String) throws -> JSONValue? {
            let out = try KDQBinary.run(["inspect", path, "--stats", "--filter", name, "--json"])
            return try JSONValue.parse(out.stdout)["tensors"]?.arrayValue?.first
        }
        let before = try tensor(dir + "/q8.kdq"), after = try tensor(dir + "/d.kdq")
        #expect(after?["encoding"]?.stringValue == "q8_0")
        #expect(after?["stats"] != nil && after?["stats"] != before?["stats"], "the trained encoder's values changed")
        #expect(try KDQBinary.run(["transcribe", dir + "/d.kdq", KDQBinary.packageRoot + "/samples/jfk.wav"]).status == 0)
    }

    /// --export-recipe writes the run for transformers + accelerate: both models in Hugging
    /// Face format, every labelled clip with its split, the recipe with kdq's first-batch loss
    /// and the epochs' clip order, and the script (release binary: labelling with a debug
    /// engine is slow). scripts/recipe-check.sh runs the script's --check with torch.
    @Test(.enabled(if: DistillCLITests.realModels && KDQBinary.isRelease,
                   "needs scripts/fetch-models.sh and KDQ_BIN (a release kdq)"))
    func exportedRecipeHoldsTheModelsClipsObjectiveAndScript() throws {
        let dir = KDQBinary.scratchDirectory("recipe")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The manifest is named relative to kdq's working directory, through "..", and names its
        // audio relative to itself: the recipe must hold the audio's real absolute path.
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/work", withIntermediateDirectories: true)
        try fm.copyItem(atPath: KDQBinary.packageRoot + "/samples/jfk.wav", toPath: dir + "/jfk.wav")
        let lines = (0..<6).map { "{\"id\": \"jfk\($0)\", \"audio\": \"jfk.wav\"}" }
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/data.jsonl", atomically: true, encoding: .utf8)
        let tiny = KDQBinary.packageRoot + "/models/tiny.en"
        #expect(try KDQBinary.run(["student", tiny, "-o", dir + "/s.kdq", "--decoder-layers", "2", "--select", "0,3"]).status == 0)
        let r = try KDQBinary.run(["distill", tiny, dir + "/s.kdq", "--data", "../data.jsonl", "--export-recipe", dir + "/recipe", "--validation", "2",
                                   "--epochs", "3", "--batch", "2", "--json"], launcher: ["/usr/bin/env", "-C", dir + "/work"])
        #expect(r.status == 0, "\(r.stderr)")
        for file in ["teacher/model.safetensors", "teacher/config.json", "student/model.safetensors", "clips.jsonl", "recipe.json", "train_student.py"] {
            #expect(fm.fileExists(atPath: dir + "/recipe/" + file), "\(file)")
        }
        let recipe = try JSONValue.parse(String(contentsOfFile: dir + "/recipe/recipe.json", encoding: .utf8))
        #expect(recipe["student_decoder_layers"]?.arrayValue?.compactMap(\.intValue) == [0, 3])
        #expect(recipe["order"]?.arrayValue?.count == 3 && recipe["order"]?.arrayValue?.first?.arrayValue?.count == 4)
        #expect(recipe["total_steps"]?.intValue == 6)
        let first = recipe["first_batch"]
        #expect(first?["clips"]?.arrayValue?.count == 2 && (first?["loss"]?["kl"]?.doubleValue ?? 0) > 0)
        let clips = try String(contentsOfFile: dir + "/recipe/clips.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(clips.count == 6)
        let clip = try JSONValue.parse(String(clips[0]))
        #expect(clip["audio"]?.stringValue == URL(fileURLWithPath: dir + "/jfk.wav").standardized.path && (clip["tokens"]?.arrayValue?.count ?? 0) > 4,
                "\(clip["audio"]?.stringValue ?? "no audio")")
        let script = try String(contentsOfFile: dir + "/recipe/train_student.py", encoding: .utf8)
        #expect(script.contains("def objective") && script.contains("Accelerator"))
        // a recipe is not written over another
        let again = try KDQBinary.run(["distill", tiny, dir + "/s.kdq", "--data", dir + "/data.jsonl", "--export-recipe", dir + "/recipe", "--validation", "2"])
        #expect(again.status != 0 && again.stderr.contains("not empty"), "\(again.stderr)")
    }

    @Test func trainingAndExportingAreExclusive() throws {
        let r = try KDQBinary.run(["distill", f + "/tiny-random.pt", f + "/tiny-random.pt", "--data", "x.jsonl", "-o", "/tmp/o.kdq",
                                   "--export-recipe", "/tmp/recipe-never"])
        #expect(r.status != 0 && r.stderr.contains("not both"), "\(r.stderr)")
    }

    @Test func badOptionsAndMissingManifestFail() throws {
        let bad = try KDQBinary.run(["distill", f + "/tiny-random.pt", f + "/tiny-random.pt", "--data", "x.jsonl", "-o", "/tmp/o.kdq", "--alpha", "2"])
        #expect(bad.status != 0 && bad.stderr.contains("--alpha"))
        let untrained = try KDQBinary.run(["distill", f + "/tiny-random.pt", f + "/tiny-random.pt", "--data", "x.jsonl", "-o", "/tmp/o.kdq", "--epochs", "0"])
        #expect(untrained.status != 0 && untrained.stderr.contains("--epochs must be at least 1 for kdq distill"), "\(untrained.stderr)")
        let missing = try KDQBinary.run(["distill", f + "/tiny-random.pt", f + "/tiny-random.pt", "--data", "/nonexistent.jsonl", "-o", "/tmp/o.kdq"])
        #expect(missing.status != 0 && missing.stderr.contains("/nonexistent.jsonl"))
    }
}
