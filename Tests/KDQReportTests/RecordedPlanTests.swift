import KDQJSON
@testable import KDQQuantize
import Testing

/// A recorded plan read back typed, and the size/KL trade-off curve the report draws from it.
@Suite struct RecordedPlanTests {
    /// Two tensors: `a` with a dominated alternative (q5_1: more bytes and more KL than q5_0) and a
    /// point above its hull (q4_1), `b` with a steep first step.
    static let compression = """
        {"encodings": {"method": "guided", "quantizer": "search", "predicted_kl": 0.11,
          "budget": {"target_bytes": 300, "rule": "test", "tensor_bytes": 280, "bits_per_weight": 5.0},
          "tensors": {
            "a": {"source": "f16", "chosen": "q5_0", "bytes": 130, "pinned": false, "alternatives": {
              "q4_0": {"bytes": 100, "mean_kl": 0.10, "kl_measured": true},
              "q4_1": {"bytes": 120, "mean_kl": 0.09, "kl_measured": false},
              "q5_0": {"bytes": 130, "mean_kl": 0.01, "kl_measured": true},
              "q5_1": {"bytes": 140, "mean_kl": 0.02, "kl_measured": true},
              "f16": {"bytes": 200, "mean_kl": 0.0, "kl_measured": true}}},
            "b": {"source": "f16", "chosen": "q8_0", "bytes": 150, "pinned": true, "alternatives": {
              "q4_0": {"bytes": 100, "mean_kl": 1.0, "kl_measured": true},
              "q8_0": {"bytes": 150, "mean_kl": 0.1, "kl_measured": true}}}}},
         "evaluation": {"calibration": {"manifest": "m.jsonl", "utterances": 4}, "mean_kl": 0.2, "source_wer": 0.05, "quantized_wer": 0.06}}
        """

    func plan() throws -> RecordedPlan {
        try #require(try RecordedPlan(compression: JSONValue.parse(Self.compression).objectValue))
    }

    @Test func readsEveryTensorsChoiceAndTheEvaluation() throws {
        let p = try plan()
        #expect(p.method == "guided" && p.targetBytes == 300 && p.tensorBytes == 280 && p.predictedKL == 0.11)
        #expect(p.tensors.map(\.name) == ["a", "b"] && p.tensors[1].pinned && p.tensors[0].chosen == .q5_0)
        #expect(p.tensors[0].alternatives.map(\.bytes) == [100, 120, 130, 140, 200])
        #expect(p.tensors[0].chosenAlternative?.meanKL == 0.01)
        #expect(p.evaluation?.meanKL == 0.2 && p.evaluation?.utterances == 4 && p.evaluation?.quantizedWER == 0.06)
    }

    @Test func anArchiveWithoutAPlanHasNone() throws {
        #expect(try RecordedPlan(compression: JSONValue.parse("{\"layer_map\": null}").objectValue) == nil)
        #expect(try RecordedPlan(compression: nil) == nil)
    }

    @Test func aTensorWithoutItsChoiceIsAnErrorNamingIt() throws {
        let bad = try JSONValue.parse("{\"encodings\": {\"method\": \"guided\", \"tensors\": {\"w\": {\"source\": \"f16\"}}}}").objectValue
        #expect { try RecordedPlan(compression: bad) } throws: { "\($0)".contains("w") }
    }

    @Test func theHullDropsDominatedAndConcaveAlternatives() throws {
        let a = try plan().tensors[0].alternatives
        // q4_1 sits above the segment q4_0–q5_0, q5_1 costs more than q5_0 and loses more.
        #expect(RecordedPlan.lowerHull(a).map(\.encoding.rawValue) == ["q4_0", "q5_0", "f16"])
    }

    @Test func theCurveBuysTheMostKLPerByteFirst() throws {
        let curve = try plan().tradeOffCurve
        // Start: both at q4_0 (200 bytes, KL 1.1). Steps: b→q8_0 (50 B, −0.9: 0.018/B),
        // a→q5_0 (30 B, −0.09: 0.003/B), a→f16 (70 B, −0.01).
        #expect(curve.map(\.bytes) == [200, 250, 280, 350])
        let kls = curve.map(\.kl), expected = [1.1, 0.2, 0.11, 0.1]
        #expect(zip(kls, expected).allSatisfy { abs($0 - $1) < 1e-12 }, "\(kls)")
    }
}
