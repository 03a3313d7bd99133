import Foundation
import KDQJSON
import Testing

/// `kdq quantize` and `kdq inspect --plan` through the built binary.
@Suite struct QuantizeCLITests {
    let f = KDQBinary.fixtures
    let dir = KDQBinary.scratchDirectory("quantize")
    static let tinyEn = KDQBinary.tinyEn
    var calibration: String { KDQBinary.packageRoot + "/samples/calibration.jsonl" }

    @Test func help() throws {
        let r = try KDQBinary.run(["quantize", "--help"])
        #expect(r.status == 0 && r.stdout.contains("--match-uniform") && r.stdout.contains("--keep"))
    }

    @Test func uniformIsWhatImportDtypeWrites() throws {
        let quantized = try KDQBinary.run(["quantize", f + "/tiny-random.pt", "-o", dir + "/u.kdq", "--uniform", "q4_0", "--json"])
        #expect(quantized.status == 0, "\(quantized.stderr)")
        #expect(try JSONValue.parse(quantized.stdout)["method"]?.stringValue == "uniform")
        #expect(try KDQBinary.run(["import", f + "/tiny-random.pt", "-o", dir + "/i.kdq", "--dtype", "q4_0"]).status == 0)
        // The same bytes but for the encoder's positions, which the plan computes (`sinusoids`)
        // and import keeps in f16: the same table within f16's rounding.
        let diff = try KDQBinary.run(["diff", dir + "/u.kdq", dir + "/i.kdq", "--fail-on-difference",
                                      "--filter", "encoder.conv*", "--filter", "encoder.blocks.*", "--filter", "encoder.ln_post*", "--filter", "decoder.*"])
        #expect(diff.status == 0, "\(diff.stdout)")
        let positions = try KDQBinary.run(["diff", dir + "/u.kdq", dir + "/i.kdq", "--filter", "encoder.positional_embedding", "--json"])
        let largest = try JSONValue.parse(positions.stdout)["overall"]?["max_abs_error"]?.doubleValue
        #expect(positions.status == 0 && largest.map { $0 <= 0.000245 } == true, "\(positions.stdout)")
        // and whisper.cpp's own q4_0 file has the same quantized matrices
        let ggml = try KDQBinary.run(["diff", dir + "/u.kdq", f + "/ggml-tiny-random-q4_0.bin", "--filter", "*.mlp.*.weight", "--fail-on-difference"])
        #expect(ggml.status == 0, "\(ggml.stdout)")
        let plan = try KDQBinary.run(["inspect", dir + "/u.kdq", "--plan"])
        #expect(plan.status == 0 && plan.stdout.contains("uniform, quantizer nearest"), "\(plan.stdout)")
    }

    @Test func guidedWithoutCalibrationIsRefused() throws {
        let r = try KDQBinary.run(["quantize", f + "/tiny-random.pt", "-o", dir + "/g.kdq", "--match-uniform", "q4_0"])
        #expect(r.status != 0 && r.stderr.contains("--calibration"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/g.kdq"))
    }

    @Test func uniformWithABudgetIsRefused() throws {
        let r = try KDQBinary.run(["quantize", f + "/tiny-random.pt", "-o", dir + "/g.kdq", "--uniform", "q4_0", "--target-mb", "1"])
        #expect(r.status != 0 && r.stderr.contains("budget"), "\(r.stderr)")
    }

    @Test func twoBudgetsAreRefused() throws {
        let r = try KDQBinary.run(["quantize", f + "/tiny-random.pt", "-o", dir + "/g.kdq", "--target-mb", "1", "--target-bpw", "4",
                                   "--calibration", calibration])
        #expect(r.status != 0 && r.stderr.contains("exactly one"), "\(r.stderr)")
    }

    @Test func aBadKeepRuleIsRefused() throws {
        let r = try KDQBinary.run(["quantize", f + "/tiny-random.pt", "-o", dir + "/g.kdq", "--uniform", "q4_0", "--keep", "encoder*=q3_k"])
        #expect(r.status != 0 && r.stderr.contains("q3_k"), "\(r.stderr)")
    }

    @Test func anUnknownCandidateIsRefused() throws {
        let r = try KDQBinary.run(["quantize", f + "/tiny-random.pt", "-o", dir + "/g.kdq", "--target-mb", "1", "--calibration", calibration,
                                   "--candidates", "q4_0,q2_k"])
        #expect(r.status != 0 && r.stderr.contains("q2_k"), "\(r.stderr)")
    }

    @Test func inputScalingForANonBlockEncodingIsRefused() throws {
        let r = try KDQBinary.run(["quantize", f + "/tiny-random.pt", "-o", dir + "/g.kdq", "--uniform", "q4_0", "--calibration", calibration,
                                   "--input-scaling", "f16"])
        #expect(r.status != 0 && r.stderr.contains("--input-scaling") && r.stderr.contains("f16"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/g.kdq"))
    }

    @Test func inputScalingWithoutCalibrationIsRefused() throws {
        let r = try KDQBinary.run(["quantize", f + "/tiny-random.pt", "-o", dir + "/g.kdq", "--uniform", "q4_0", "--input-scaling", "q4_0"])
        #expect(r.status != 0 && r.stderr.contains("--input-scaling needs --calibration"), "\(r.stderr)")
    }

    /// Input scales fitted on the calibration audio are folded into tiny.en before it is
    /// quantized: the record says which groups were scaled, and the model still transcribes
    /// (release binary, as above).
    @Test(.enabled(if: tinyEn != nil && KDQBinary.isRelease,
                   "needs models/tiny.en and KDQ_BIN (a release kdq)"))
    func inputScalingIsFoldedInAndRecorded() throws {
        let r = try KDQBinary.run(["quantize", Self.tinyEn!, "-o", dir + "/a.kdq", "--uniform", "q4_0", "--quantizer", "search",
                                   "--calibration", calibration, "--calibration-count", "1", "--skip-evaluation", "--input-scaling", "q4_0"])
        #expect(r.status == 0, "\(r.stderr)")
        let record = try JSONValue.parse(try KDQBinary.run(["inspect", dir + "/a.kdq", "--plan", "--json"]).stdout)["input_scaling"]
        #expect(record?["encoding"]?.stringValue == "q4_0")
        let groups: Int? = record?["groups"]?.arrayValue?.count
        #expect(groups == 32, "tiny.en has 4 encoder blocks of 3 groups and 4 decoder blocks of 5: \(String(describing: record))")
        let text = try KDQBinary.run(["inspect", dir + "/a.kdq", "--plan"]).stdout
        #expect(text.contains("scaled      inputs of") && text.contains("fitted for q4_0"), "\(text.prefix(600))")
        let spoken = try KDQBinary.run(["transcribe", dir + "/a.kdq", KDQBinary.packageRoot + "/samples/jfk.wav"])
        #expect(spoken.status == 0 && spoken.stdout.lowercased().contains("ask not what your country can do for you"), "\(spoken.stdout)")
    }

    /// The k-quants a user adds to the candidates are planned where their 256-value
    /// super-blocks tile a tensor's rows (tiny.en's fc2, 1,536 wide) and nowhere else (its
    /// 384-wide matrices); the table of `inspect --plan` shows their column.
    @Test(.enabled(if: tinyEn != nil && KDQBinary.isRelease,
                   "needs models/tiny.en and KDQ_BIN (a release kdq)"))
    func kQuantCandidatesArePlannedWhereTheyTileTheRows() throws {
        let keep = ["encoder.*", "decoder.token_embedding.*", "decoder.blocks.*.attn.*", "decoder.blocks.*.cross_attn.*", "decoder.blocks.*.mlp.0.*"]
            .flatMap { ["--keep", $0] }
        let g = try KDQBinary.run(["quantize", Self.tinyEn!, "-o", dir + "/k.kdq", "--target-mb", "73", "--calibration", calibration,
                                   "--calibration-count", "1", "--skip-evaluation", "--no-measure-all", "--candidates", "q6_K,q4_K,q4_0"] + keep)
        #expect(g.status == 0, "\(g.stderr)")
        let plan = try KDQBinary.run(["inspect", dir + "/k.kdq", "--plan", "--json"])
        let tensors = try JSONValue.parse(plan.stdout)["encodings"]?["tensors"]?.objectValue
        let fc2 = tensors?["decoder.blocks.0.mlp.2.weight"]?["alternatives"]?.objectValue
        #expect(fc2?.keys.sorted() == ["f16", "q4_0", "q4_K", "q6_K"], "\(String(describing: fc2?.keys))")
        #expect(tensors?["decoder.blocks.0.mlp.0.weight"]?["pinned"]?.boolValue == true)
        let table = try KDQBinary.run(["inspect", dir + "/k.kdq", "--plan", "--filter", "decoder.blocks.0.mlp.2.weight"])
        #expect(table.status == 0 && table.stdout.contains("KL q6_K") && table.stdout.contains("KL q4_K") && !table.stdout.contains("KL q5_0"),
                "\(table.stdout)")
    }

    @Test func planOfANonArchiveIsRefused() throws {
        let r = try KDQBinary.run(["inspect", f + "/tiny-random.pt", "--plan"])
        #expect(r.status != 0 && r.stderr.contains("not a .kdq archive"), "\(r.stderr)")
    }

    /// A guided plan on the real tiny.en (most tensors pinned, to stay quick): the whole
    /// archive is no larger than the uniform q5_0 one, and the record shows every alternative.
    /// Runs against the release binary (scripts/test.sh sets KDQ_BIN): a debug build of the
    /// engine takes minutes over it.
    @Test(.enabled(if: tinyEn != nil && KDQBinary.isRelease,
                   "needs models/tiny.en and KDQ_BIN (a release kdq)"))
    func guidedArchiveIsNoLargerThanUniform() throws {
        let keep = ["encoder.blocks.*", "decoder.blocks.*"].flatMap { ["--keep", $0 + "=q5_0"] }
        let g = try KDQBinary.run(["quantize", Self.tinyEn!, "-o", dir + "/g.kdq", "--match-uniform", "q5_0", "--calibration", calibration,
                                   "--calibration-count", "1", "--skip-evaluation", "--no-measure-all", "--json"] + keep)
        #expect(g.status == 0, "\(g.stderr)")
        let u = try KDQBinary.run(["quantize", Self.tinyEn!, "-o", dir + "/u.kdq", "--uniform", "q5_0"])
        #expect(u.status == 0)
        let sizes = try [dir + "/g.kdq", dir + "/u.kdq"].map { try FileManager.default.attributesOfItem(atPath: $0)[.size] as! Int }
        #expect(sizes[0] <= sizes[1], "guided \(sizes[0]) bytes, uniform \(sizes[1])")
        let plan = try KDQBinary.run(["inspect", dir + "/g.kdq", "--plan", "--json"])
        let encodings = try JSONValue.parse(plan.stdout)["encodings"]
        #expect(encodings?["quantizer"]?.stringValue == "search" && encodings?["weighting"]?.stringValue == "activations")
        let tensors = encodings?["tensors"]?.objectValue
        let embedding = tensors?["decoder.token_embedding.weight"]?["alternatives"]?.objectValue
        #expect(embedding?.keys == ["f16", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0"], "\(String(describing: embedding?.keys))")
        // --no-measure-all: the narrowest candidate is run, the others scaled from it.
        #expect(embedding?["q4_0"]?["kl_measured"]?.boolValue == true && embedding?["q8_0"]?["kl_measured"]?.boolValue == false)
        #expect(tensors?["encoder.blocks.0.mlp.0.weight"]?["pinned"]?.boolValue == true)
        let profile = try KDQBinary.run(["inspect", dir + "/g.kdq", "--profile", "--filter", "decoder.token_embedding*"])
        #expect(profile.status == 0 && profile.stdout.contains("decoder.token_embedding.weight  q4_0"), "\(profile.stdout)")
    }

    /// --target-mb bounds the whole file, record and evaluation included, and the size the
    /// report predicts is the file's (release binary, as above).
    @Test(.enabled(if: tinyEn != nil && KDQBinary.isRelease,
                   "needs models/tiny.en and KDQ_BIN (a release kdq)"))
    func targetMegabytesBoundTheWholeFile() throws {
        let keep = ["encoder.blocks.*", "decoder.blocks.*"].flatMap { ["--keep", $0 + "=q5_0"] }
        let r = try KDQBinary.run(["quantize", Self.tinyEn!, "-o", dir + "/t.kdq", "--target-mb", "28", "--calibration", calibration,
                                   "--calibration-count", "1", "--no-measure-all", "--json"] + keep)
        #expect(r.status == 0, "\(r.stderr)")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: dir + "/t.kdq")[.size] as? Int)
        #expect(size <= 28_000_000, "\(size) bytes")
        let report = try JSONValue.parse(r.stdout)
        #expect(report["archive_bytes"]?.intValue == size, "predicted \(String(describing: report["archive_bytes"])), written \(size)")
        // the tensors got what the record and the rest of the archive leave
        #expect((report["tensor_bytes"]?.intValue ?? .max) < 28_000_000 - 100_000)
    }

    /// Uniform quantization by the search quantizer takes its column weights (and, weighted by
    /// covariance, its error compensation) from the calibration audio even when the end-to-end
    /// check is skipped (release binary, as above).
    @Test(.enabled(if: tinyEn != nil && KDQBinary.isRelease,
                   "needs models/tiny.en and KDQ_BIN (a release kdq)"))
    func uniformSearchIsWeightedByTheCalibrationAudio() throws {
        for (weighting, expected) in [("activations", "activations"), ("covariance", "covariance"), ("none", "none")] {
            let r = try KDQBinary.run(["quantize", Self.tinyEn!, "-o", dir + "/s.kdq", "--uniform", "q4_0", "--quantizer", "search",
                                       "--calibration", calibration, "--calibration-count", "1", "--skip-evaluation", "--weighting", weighting])
            #expect(r.status == 0, "\(r.stderr)")
            let plan = try KDQBinary.run(["inspect", dir + "/s.kdq", "--plan", "--json"])
            let encodings = try JSONValue.parse(plan.stdout)["encodings"]
            #expect(encodings?["weighting"]?.stringValue == expected, "\(plan.stdout.prefix(400))")
            let text = try KDQBinary.run(["inspect", dir + "/s.kdq", "--plan"])
            #expect(text.stdout.contains("weighted by the calibration activations") == (expected != "none"), "\(text.stdout.prefix(200))")
            #expect(text.stdout.contains("errors compensated (GPTQ)") == (expected == "covariance"), "\(text.stdout.prefix(200))")
        }
    }

    /// Unlabelled audio gives the decoder's layers their GPTQ covariances (the source model
    /// transcribes it), and the record says how many clips and tokens.
    @Test(.enabled(if: tinyEn != nil && KDQBinary.isRelease,
                   "needs models/tiny.en and KDQ_BIN (a release kdq)"))
    func covarianceDataGivesTheDecoderItsRows() throws {
        let r = try KDQBinary.run(["quantize", Self.tinyEn!, "-o", dir + "/c.kdq", "--uniform", "q4_0", "--quantizer", "search",
                                   "--calibration", calibration, "--calibration-count", "1", "--skip-evaluation", "--weighting", "covariance",
                                   "--covariance-data", try KDQBinary.sampleManifest(in: dir, count: 3), "--covariance-clips", "2",
                                   "--encoder-covariances", "clips"])
        #expect(r.status == 0, "\(r.stderr)")
        let record = try JSONValue.parse(try KDQBinary.run(["inspect", dir + "/c.kdq", "--plan", "--json"]).stdout)["encodings"]?["decoder_covariances"]
        #expect(record?["sequences"]?.intValue == 2 && (record?["tokens"]?.intValue ?? 0) > 20, "\(String(describing: record))")
        #expect(record?["encoder_windows"]?.intValue == 2, "the clips observed the encoder too: \(String(describing: record))")
        #expect(record?["manifest"]?.stringValue == dir + "/data.jsonl")
    }

    @Test func covarianceDataWithoutCovarianceWeightingIsRefused() throws {
        let r = try KDQBinary.run(["quantize", f + "/tiny-random.pt", "-o", dir + "/x.kdq", "--uniform", "q4_0", "--quantizer", "search",
                                   "--calibration", calibration, "--covariance-data", calibration])
        #expect(r.status != 0 && r.stderr.contains("--covariance-data is for --weighting covariance"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.kdq"))
    }

    @Test func encoderCovariancesFromClipsWithoutClipsAreRefused() throws {
        let r = try KDQBinary.run(["quantize", f + "/tiny-random.pt", "-o", dir + "/x.kdq", "--uniform", "q4_0", "--quantizer", "search",
                                   "--calibration", calibration, "--weighting", "covariance", "--encoder-covariances", "clips"])
        #expect(r.status != 0 && r.stderr.contains("--encoder-covariances clips needs --covariance-data"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.kdq"))
    }

    @Test func profileFromWithUniformIsRefused() throws {
        let r = try KDQBinary.run(["quantize", f + "/tiny-random.pt", "-o", dir + "/x.kdq", "--uniform", "q4_0", "--profile-from", dir + "/y.kdq"])
        #expect(r.status != 0 && r.stderr.contains("--profile-from is for guided plans"), "\(r.stderr)")
    }

    /// A guided archive's profile serves a plan at another budget: the alternatives' losses
    /// are the recorded ones; a uniform archive has none to give (release binary, as above).
    @Test(.enabled(if: tinyEn != nil && KDQBinary.isRelease,
                   "needs models/tiny.en and KDQ_BIN (a release kdq)"))
    func aRecordedProfileServesAnotherBudget() throws {
        let keep = ["encoder.*", "decoder.blocks.*"].flatMap { ["--keep", $0 + "=q5_0"] }
        let common = ["--calibration", calibration, "--calibration-count", "1", "--skip-evaluation"] + keep
        let first = try KDQBinary.run(["quantize", Self.tinyEn!, "-o", dir + "/p5.kdq", "--match-uniform", "q5_0"] + common)
        #expect(first.status == 0, "\(first.stderr)")
        let second = try KDQBinary.run(["quantize", Self.tinyEn!, "-o", dir + "/p4.kdq", "--match-uniform", "q4_0",
                                        "--profile-from", dir + "/p5.kdq"] + common)
        #expect(second.status == 0, "\(second.stderr)")
        let losses = try ["p5", "p4"].map { name -> [String: Double] in
            let plan = try KDQBinary.run(["inspect", dir + "/\(name).kdq", "--plan", "--json"])
            let alternatives = try JSONValue.parse(plan.stdout)["encodings"]?["tensors"]?["decoder.token_embedding.weight"]?["alternatives"]?.objectValue
            let pairs = (alternatives?.keys ?? []).map { ($0, alternatives?[$0]?["mean_kl"]?.doubleValue ?? -1) }
            return Dictionary(uniqueKeysWithValues: pairs)
        }
        #expect(losses[0].count == 6 && losses[0] == losses[1], "\(losses)")
        let u = try KDQBinary.run(["quantize", Self.tinyEn!, "-o", dir + "/pu.kdq", "--uniform", "q5_0"])
        #expect(u.status == 0)
        let refused = try KDQBinary.run(["quantize", Self.tinyEn!, "-o", dir + "/p.kdq", "--match-uniform", "q4_0",
                                         "--profile-from", dir + "/pu.kdq"] + common)
        #expect(refused.status != 0 && refused.stderr.contains("holds no measured sensitivity profile"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/p.kdq"))
    }

    @Test(.enabled(if: tinyEn != nil, "run scripts/fetch-models.sh"))
    func anImpossibleBudgetLeavesNoFile() throws {
        let r = try KDQBinary.run(["quantize", Self.tinyEn!, "-o", dir + "/g.kdq", "--target-mb", "1", "--calibration", calibration,
                                   "--keep", "*"])
        #expect(r.status != 0 && r.stderr.contains("below the smallest reachable size"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/g.kdq"))
    }
}
