import Foundation
import KDQJSON
import Testing

/// `kdq compare` on the built binary.
@Suite struct CompareCLITests {
    static let tinyEn = KDQBinary.tinyEn
    static let release = KDQBinary.isRelease
    var calibration: String { KDQBinary.packageRoot + "/samples/calibration.jsonl" }
    var fixture: String { KDQBinary.fixtures + "/tiny-random.pt" }

    @Test func help() throws {
        let r = try KDQBinary.run(["compare", "--help"])
        #expect(r.status == 0 && r.stdout.contains("--audio") && r.stdout.contains("--json"))
    }

    @Test func aNegativeLimitIsRefused() throws {
        let r = try KDQBinary.run(["compare", fixture, fixture, "--audio", calibration, "--limit", "-1"])
        #expect(r.status != 0 && r.stderr.contains("--limit"), "\(r.stderr)")
    }

    @Test func aMissingManifestIsAClearError() throws {
        let r = try KDQBinary.run(["compare", fixture, fixture, "--audio", "/nonexistent.jsonl"])
        #expect(r.status != 0 && r.stderr.contains("/nonexistent.jsonl"), "\(r.stderr)")
    }

    @Test func modelsWithoutAVocabularyAreAClearError() throws {
        let r = try KDQBinary.run(["compare", fixture, fixture, "--audio", calibration])
        #expect(r.status != 0 && r.stderr.contains("vocabulary"), "\(r.stderr)")
    }

    @Test(.enabled(if: tinyEn != nil, "needs scripts/fetch-models.sh"))
    func differentVocabulariesAreRefused() throws {
        let r = try KDQBinary.run(["compare", Self.tinyEn!, fixture, "--audio", calibration])
        #expect(r.status != 0 && r.stderr.contains("vocabulary (1024 tokens)"), "\(r.stderr)")
    }

    /// tiny.en against its uniform q4_0: the summary KL is `kdq eval --kl`'s on the same clip,
    /// the report follows formats/compare.schema.json; a pruned student shows its recorded
    /// blocks (release binary: a debug engine takes minutes over tiny.en).
    @Test(.enabled(if: tinyEn != nil && release, "needs models/tiny.en and KDQ_BIN (a release kdq)"))
    func comparesAQuantizationAndAPrunedStudent() throws {
        let dir = KDQBinary.scratchDirectory("compare")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try KDQBinary.run(["quantize", Self.tinyEn!, "-o", dir + "/q4.kdq", "--uniform", "q4_0"]).status == 0)
        let r = try KDQBinary.run(["compare", Self.tinyEn!, dir + "/q4.kdq", "--audio", calibration, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONValue.parse(r.stdout)
        let schema = try JSONValue.parse(String(contentsOfFile: KDQBinary.packageRoot + "/formats/compare.schema.json", encoding: .utf8))
        #expect(JSONSchema(schema).validate(report).isEmpty, "\(JSONSchema(schema).validate(report))")
        let eval = try KDQBinary.run(["eval", "--manifest", calibration, "--model", Self.tinyEn!, "--model", dir + "/q4.kdq", "--kl", "--json"])
        let evalKL = try JSONValue.parse(eval.stdout)["models"]?.arrayValue?.last?["mean_kl"]?.doubleValue
        let kl = try #require(report["tokens"]?["mean_kl"]?.doubleValue)
        let expected = try #require(evalKL)
        print("compare KL \(kl), eval --kl \(expected)")
        #expect(kl > 0 && abs(kl - expected) <= 0.01 * expected)
        #expect(report["decoder_layers"]?.arrayValue?.allSatisfy { $0["source"]?.stringValue == "same_index" } == true)
        let divergences = report["decoder_layers"]?.arrayValue?.compactMap { $0["attention_divergence"]?.doubleValue } ?? []
        #expect(divergences.count == 4 && divergences.allSatisfy { $0 > 0 && $0 < log(2.0) }, "\(divergences)")
        #expect(report["encoder_layers"]?.arrayValue?.allSatisfy { $0["attention_divergence"] == .null } == true)

        #expect(try KDQBinary.run(["student", Self.tinyEn!, "-o", dir + "/s.kdq", "--decoder-layers", "2", "--select", "0,3"]).status == 0)
        let pruned = try KDQBinary.run(["compare", Self.tinyEn!, dir + "/s.kdq", "--audio", calibration])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.contains("teacher block: recorded"), "\(pruned.stdout)")
        let json = try JSONValue.parse(try KDQBinary.run(["compare", Self.tinyEn!, dir + "/s.kdq", "--audio", calibration, "--json"]).stdout)
        #expect(json["decoder_layers"]?.arrayValue?.compactMap { $0["teacher"]?.intValue } == [0, 3])
    }
}
