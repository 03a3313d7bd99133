import Testing
import KDQFormats
import KDQJSON
import KDQTensor
@testable import KDQQuantize

/// The whole-model check of the largest tensor's encoding, with a stand-in for the model's
/// measured KL: the plan's predicted KL plus a cost for the largest tensor's encoding.
@Suite struct PlanRefinementTests {
    /// The fixture and its synthetic profile, made once.
    static let prepared = Result { () throws -> (Checkpoint, SensitivityProfile) in
        let c = try Checkpoint.open(PlanningTests.fixture)
        return (c, try PlanningTests.syntheticProfile(c))
    }

    static func setting() throws -> (Checkpoint, SensitivityProfile) { try prepared.get() }

    /// Refines the plan at the size of uniform q4_0 (with `rules`), the measured KL being the
    /// predicted one plus `extra[encoding of the largest tensor]` (0 where not given).
    static func refine(_ extra: [Encoding: Double], rules: [KeepRule] = []) throws -> (plan: QuantizationPlan, record: PlanRefinement)? {
        let (c, profile) = try setting()
        let plan = try QuantizationPlanner.guided(c, profile: profile, budget: .sameAsUniform(.q4_0), rules: rules)
        let largest = plan.choices.filter { !$0.pinned && profile.entry($0.tensor) != nil }
            .max { c.tensor(named: $0.tensor)!.elementCount < c.tensor(named: $1.tensor)!.elementCount }!.tensor
        return try PlanRefinement.refine(c, plan: plan, profile: profile, makePlan: {
            try QuantizationPlanner.guided(c, profile: profile, budget: .sameAsUniform(.q4_0), rules: rules, restricting: $0)
        }, measure: { p in
            (p.predictedKL ?? 0) + extra[p.choices.first { $0.tensor == largest }!.chosen, default: 0]
        })
    }

    @Test func theAllocatorsChoiceStaysWhenEveryOtherMeasuresWorse() throws {
        let planned = try #require(try Self.refine([:])).record.planned
        var penalty: [Encoding: Double] = [:]
        for e in QuantizationCandidates.encodings + [.f32] where e != planned { penalty[e] = 1e6 }
        let r = try #require(try Self.refine(penalty)).record
        #expect(r.chosen == planned)
        #expect(r.trials.first?.encoding == planned)
        #expect(r.trials.count <= 3, "one step each way at most: \(r.trials.map(\.encoding))")
    }

    @Test func aNarrowerEncodingThatMeasuresBetterIsKeptAndTheSearchGoesOn() throws {
        let first = try #require(try Self.refine([:])).record
        let (_, profile) = try Self.setting()
        let options = profile.entry(first.tensor)!.alternatives.sorted { $0.bytes < $1.bytes }.map(\.encoding)
        let start = options.firstIndex(of: first.planned)!
        try #require(start >= 2, "the fixture's plan leaves two narrower encodings for the largest tensor")
        // Two steps narrower is best; one step is better than the plan; three steps (if any) worse.
        var bonus: [Encoding: Double] = [options[start - 1]: -1e6, options[start - 2]: -2e6]
        if start >= 3 { bonus[options[start - 3]] = 5e6 }
        let (plan, r) = try #require(try Self.refine(bonus))
        #expect(r.chosen == options[start - 2], "trials \(r.trials.map(\.encoding))")
        #expect(plan.choices.first { $0.tensor == r.tensor }?.chosen == options[start - 2])
        #expect(!r.trials.contains { $0.encoding == options[min(start + 1, options.count - 1)] && start + 1 < options.count },
                "no wider trial once narrower helped")
    }

    @Test func aPinnedLargestTensorIsNotMoved() throws {
        let first = try #require(try Self.refine([:])).record
        let r = try #require(try Self.refine([:], rules: [try KeepRule(parsing: first.tensor)])).record
        #expect(r.tensor != first.tensor)
    }

    @Test func theRecordReadsBackAsWritten() throws {
        let r = try #require(try Self.refine([:])).record
        let back = try PlanRefinement(json: JSONValue.parse(r.json.serialized(pretty: false)))
        #expect(back == r)
    }

    @Test func aRecordWithoutTrialsIsRefused() throws {
        #expect(throws: QuantizeError.self) { try PlanRefinement(json: .object(["tensor": "x", "planned": "q4_0", "chosen": "q4_0"])) }
    }

    @Test func aRecordNamingAnUnknownEncodingIsRefused() throws {
        #expect(throws: QuantizeError.self) {
            try PlanRefinement(json: .object(["tensor": "x", "planned": "q9_9", "chosen": "q4_0", "trials": .array([])]))
        }
    }
}
