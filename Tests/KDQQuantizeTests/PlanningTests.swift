import Foundation
import Testing
import KDQFormats
import KDQTensor
@testable import KDQQuantize

@Suite struct PlanningTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("KDQFormatsTests/Fixtures/tiny-random.pt").path

    @Test func keepRuleParsesPatternAndEncoding() throws {
        let rule = try KeepRule(parsing: "encoder.conv*=f16")
        #expect(rule.pattern == "encoder.conv*" && rule.encoding == .f16)
        #expect(KeepRule.pinned("encoder.conv1.weight", source: .f32, rules: [rule]) == .f16)
        #expect(KeepRule.pinned("decoder.ln.weight", source: .f32, rules: [rule]) == nil)
        let keep = try KeepRule(parsing: "decoder.token_embedding.weight")
        #expect(KeepRule.pinned("decoder.token_embedding.weight", source: .f32, rules: [keep]) == .f32)
    }

    @Test func keepRuleRejectsAnUnknownEncoding() {
        #expect(throws: QuantizeError.self) { try KeepRule(parsing: "encoder*=q3_k") }
    }

    @Test func keepRuleRejectsAnEmptyPattern() {
        #expect(throws: QuantizeError.self) { try KeepRule(parsing: "=q4_0") }
    }

    @Test func uniformPlanQuantizesWhatWhisperCppQuantizes() throws {
        let c = try Checkpoint.open(Self.fixture)
        let plan = QuantizationPlanner.uniform(c, .q4_0)
        for choice in plan.choices {
            let t = c.tensor(named: choice.tensor)!
            let expected: Encoding = CanonicalNames.isMatrixWeight(choice.tensor, shape: t.shape) ? .q4_0
                : choice.tensor == "encoder.positional_embedding" ? .sinusoids : t.encoding
            #expect(choice.chosen == expected, "\(choice.tensor)")
        }
        #expect(plan.tensorBytes < c.tensorBytes)
    }

    @Test func uniformPlanHonoursKeepRules() throws {
        let c = try Checkpoint.open(Self.fixture)
        let plan = QuantizationPlanner.uniform(c, .q4_0, rules: [try KeepRule(parsing: "decoder.token_embedding*=q8_0")])
        #expect(plan.choices.first { $0.tensor == "decoder.token_embedding.weight" }?.chosen == .q8_0)
    }

    /// Every measurable tensor of `c` with a loss proportional to its squared weight error in
    /// each candidate (ten times as much in the decoder).
    static func syntheticProfile(_ c: Checkpoint) throws -> SensitivityProfile {
        var entries: [SensitivityProfile.Entry] = []
        for (name, candidates) in QuantizationPlanner.measurable(c) {
            let t = c.tensor(named: name)!
            let source = try t.decodedFloats()
            let weight = name.hasPrefix("decoder.") ? 10.0 : 1.0
            var alternatives = [Sensitivity(encoding: t.encoding, bytes: QuantizationCandidates.bytes(of: t, in: t.encoding),
                                            weight: .init(), meanKL: 0)]
            for e in candidates {
                let error = squaredError(source, try t.converted(to: e).decodedFloats())
                alternatives.append(Sensitivity(encoding: e, bytes: QuantizationCandidates.bytes(of: t, in: e), weight: .init(),
                                                meanKL: weight * error))
            }
            entries.append(.init(tensor: name, alternatives: alternatives))
        }
        return SensitivityProfile(entries: entries, windows: 0, positions: 0)
    }

    /// The synthetic profile planned at the size of uniform q4_0: the plan fits, and gives a
    /// lower summed loss than uniform q4_0.
    @Test func guidedPlanFitsTheBudgetAndBeatsUniformOnItsOwnLoss() throws {
        let c = try Checkpoint.open(Self.fixture)
        let profile = try Self.syntheticProfile(c)
        let plan = try QuantizationPlanner.guided(c, profile: profile, budget: .sameAsUniform(.q4_0))
        let uniform = QuantizationPlanner.uniform(c, .q4_0)
        #expect(plan.tensorBytes <= uniform.tensorBytes)
        let uniformLoss = uniform.choices.reduce(0.0) { sum, choice in
            sum + (profile.entry(choice.tensor)?.alternatives.first { $0.encoding == choice.chosen }?.meanKL ?? 0)
        }
        #expect(plan.predictedKL! < uniformLoss, "guided \(plan.predictedKL!) vs uniform \(uniformLoss)")
    }

    @Test func budgetsResolveToBytes() throws {
        let c = try Checkpoint.open(Self.fixture)
        #expect(QuantizationPlanner.bytes(of: .megabytes(1.5), for: c) == 1_500_000)
        let elements = c.tensors.reduce(0) { $0 + $1.tensor.elementCount }
        #expect(QuantizationPlanner.bytes(of: .bitsPerWeight(4), for: c) == elements / 2)
        #expect(QuantizationPlanner.bytes(of: .sameAsUniform(.q5_0), for: c) == QuantizationPlanner.uniform(c, .q5_0).tensorBytes)
    }

    @Test func guidedPlanRejectsAnImpossibleBudget() throws {
        let c = try Checkpoint.open(Self.fixture)
        let profile = SensitivityProfile(entries: [], windows: 0, positions: 0)
        #expect(throws: QuantizeError.self) { try QuantizationPlanner.guided(c, profile: profile, budget: .megabytes(0.01)) }
    }

    @Test func calibrationAudioIsPackedIntoWindows() {
        let clip = [Float](repeating: 1, count: 100_000)
        let windows = CalibrationSet.pack([clip, clip, clip, clip, clip, []])
        #expect(windows.count == 2)
        #expect(windows[0].count == 4 * 100_000 + 3 * 8_000)
        #expect(windows[1].count == 100_000)
    }

    @Test func singleWindowsHoldOneClipEach() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let manifest = FileManager.default.temporaryDirectory.appendingPathComponent("kdq-windows-\(getpid()).jsonl").path
        let line = #"{"id": "ID", "audio": "\#(root)/samples/jfk.wav", "text": "x"}"#
        try ["a", "b", "c"].map { line.replacingOccurrences(of: "ID", with: $0) }.joined(separator: "\n").write(toFile: manifest, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: manifest) }
        let single = try CalibrationSet(manifest: manifest, count: 3, windows: .single)
        #expect(single.windows.count == 3 && single.windows.allSatisfy { $0.count == 176_000 })
        let packed = try CalibrationSet(manifest: manifest, count: 3, windows: .packed)
        #expect(packed.windows.count == 2)  // two 11-second clips and a gap fit in 30 s, the third does not
    }

    @Test func divergenceIsZeroForIdenticalAndMatchesAHandComputedValue() {
        let logits: [Float] = [0, 1, 2, 3]
        let logP = LogitDivergence.logSoftmax(logits, vocab: 2)
        #expect(LogitDivergence.summed(reference: logP, candidate: logits, vocab: 2).total == 0)
        // p = (½, ½), q = softmax(0, ln 3) = (¼, ¾): KL = ½ ln 2 + ½ ln(2/3).
        let q: [Float] = [0, Float(log(3.0))]
        let kl = LogitDivergence.summed(reference: LogitDivergence.logSoftmax([0, 0], vocab: 2), candidate: q, vocab: 2).total
        #expect(abs(kl - (0.5 * log(2) + 0.5 * log(2.0 / 3))) < 1e-6, "\(kl)")
    }
}

/// Σ (a − b)².
func squaredError(_ a: [Float], _ b: [Float]) -> Double {
    zip(a, b).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
}

/// The archive a plan will give is sized before anything is converted; for a source that is
/// itself a .kdq archive, its records and the provenance it carries forward count too.
@Suite struct PlannedArchiveSizeTests {
    @Test func theStandInOfAnArchiveSourceIsSizedAsTheRealArchive() throws {
        let dir = NSTemporaryDirectory() + "kdq-plan-size-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try KDQArchiveWriter.write(try Checkpoint.open(PlanningTests.fixture), to: dir + "/source.kdq")
        var c = try Checkpoint.open(dir + "/source.kdq")
        #expect(c.archiveManifest != nil)
        var request = QuantizationJob.Request(method: .uniform(.q8_0))
        request.evaluate = false
        let job = try QuantizationJob(request)
        let plan = QuantizationPlanner.uniform(c, .q8_0)
        let profile = SensitivityProfile(entries: [], windows: 0, positions: 0)
        let quantizer = TensorQuantizer(blocks: .nearest)
        let predicted = try job.archiveBytes(c, plan: plan, profile: profile, quantizer: quantizer, calibration: nil)

        var options = KDQWriteOptions()
        options.conversions = try plan.apply(to: &c, quantizer: quantizer)
        var manifest = c.archiveManifest ?? [:]
        var compression = manifest["compression"]?.objectValue ?? [:]
        compression["encodings"] = QuantizationRecord.encodings(plan, profile: profile, quantizer: quantizer, calibration: nil)
        compression["error_profiles"] = QuantizationRecord.errorProfiles(profile)
        manifest["compression"] = .object(compression)
        c.archiveManifest = manifest
        let written = try KDQArchiveWriter.archiveBytes(c, options: options)
        #expect(predicted == written, "stand-in \(predicted) bytes, archive \(written)")
    }
}

/// A pin whose encoding cannot tile a matched tensor's rows leaves that tensor as it is.
@Suite struct PinningTests {
    @Test func aPinThatCannotTileARowKeepsTheSourceEncoding() throws {
        let c = try Checkpoint.open(PlanningTests.fixture)
        let plan = QuantizationPlanner.uniform(c, .q4_0, rules: [try KeepRule(parsing: "encoder.*=q5_0")])
        let conv = try #require(plan.choices.first { $0.tensor == "encoder.conv1.weight" })
        let query = try #require(plan.choices.first { $0.tensor == "encoder.blocks.0.attn.query.weight" })
        #expect(conv.pinned && conv.chosen == conv.source, "\(conv)")
        #expect(query.pinned && query.chosen == .q5_0)
        var converted = c
        _ = try plan.apply(to: &converted, quantizer: TensorQuantizer(blocks: .nearest))
    }
}
