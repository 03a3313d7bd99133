import Foundation
import KDQJSON
import Testing

/// `kdq student` and `kdq distill` on the built binary.
@Suite struct DistillCLITests {
    let f = KDQBinary.fixtures
    static let realModels = FileManager.default.fileExists(atPath: KDQBinary.packageRoot + "/models/tiny.en/model.bin")
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

    @Test func badOptionsAndMissingManifestFail() throws {
        let bad = try KDQBinary.run(["distill", f + "/tiny-random.pt", f + "/tiny-random.pt", "--data", "x.jsonl", "-o", "/tmp/o.kdq", "--alpha", "2"])
        #expect(bad.status != 0 && bad.stderr.contains("--alpha"))
        let missing = try KDQBinary.run(["distill", f + "/tiny-random.pt", f + "/tiny-random.pt", "--data", "/nonexistent.jsonl", "-o", "/tmp/o.kdq"])
        #expect(missing.status != 0 && missing.stderr.contains("/nonexistent.jsonl"))
    }
}
