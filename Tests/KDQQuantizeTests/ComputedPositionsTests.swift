import Foundation
import Testing
import KDQFormats
import KDQTensor
@testable import KDQQuantize

/// Plans store the audio encoder's sinusoidal positions as computed (`Encoding.sinusoids`, no
/// bytes) when the model's values are Whisper's table, and as they are otherwise.
@Suite struct ComputedPositionsTests {
    static let name = "encoder.positional_embedding"
    static let base = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/models/base"

    /// The fixture was saved by openai-whisper with its weights in f16 values: its positions
    /// are the table `Sinusoids` computes rounded to f16: within half an f16 step (2⁻¹² below 1)
    /// everywhere, and the same f16 value but for a few values on a rounding boundary, where
    /// torch's f32 sine and this one differ in the last bit.
    @Test func openaiWhispersPositionsAreTheComputedTable() throws {
        let t = try #require(try Checkpoint.open(PlanningTests.fixture).tensor(named: Self.name))
        let saved = try t.decodedFloats()
        let computed = try Tensor(shape: t.shape, encoding: .sinusoids, data: Storage(count: 0) { _ in })
        let rounded = try computed.converted(to: .f16).decodedFloats()
        let differing = zip(saved, rounded).filter { $0 != $1 }.count
        let difference = Sinusoids.maximumDifference(saved, shape: t.shape)
        print("\(Self.name) \(t.shape) saved by openai-whisper: \(differing) of \(saved.count) values differ from the computed table rounded to f16; unrounded, max difference \(difference)")
        #expect(difference <= 0.000245 && differing <= saved.count / 10_000)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: base + "/model.bin")))
    func basesF16PositionsAreTheTableWithinTheirRounding() throws {
        let t = try #require(try Checkpoint.open(Self.base).tensor(named: Self.name))
        let difference = Sinusoids.maximumDifference(try t.decodedFloats(), shape: t.shape)
        print("base's \(t.encoding.rawValue) \(Self.name) \(t.shape) against the computed table: max difference \(difference) (f16 rounds by up to 2^-11 = 0.000488)")
        #expect(t.encoding == .f16 && difference <= 0.000489)
    }

    @Test func everyPlanComputesThemAndNoProfileMeasuresThem() throws {
        let c = try Checkpoint.open(PlanningTests.fixture)
        let source = try #require(c.tensor(named: Self.name))
        for plan in [QuantizationPlanner.uniform(c, .q8_0),
                     try QuantizationPlanner.guided(c, profile: try PlanningTests.syntheticProfile(c), budget: .sameAsUniform(.q4_0))] {
            let choice = try #require(plan.choices.first { $0.tensor == Self.name })
            #expect(choice.chosen == .sinusoids && choice.bytes == 0 && !choice.pinned, "\(choice)")
        }
        #expect(!QuantizationPlanner.measurable(c).contains { $0.name == Self.name })
        var planned = c
        let conversions = try QuantizationPlanner.uniform(c, .q8_0).apply(to: &planned, quantizer: TensorQuantizer(blocks: .nearest))
        #expect(conversions.contains { $0.tensor == Self.name && $0.to == .sinusoids })
        let computed = try #require(planned.tensor(named: Self.name))
        #expect(computed.encoding == .sinusoids && computed.byteCount == 0)
        let difference = zip(try computed.decodedFloats(), try source.decodedFloats()).map { abs($0 - $1) }.max() ?? 0
        #expect(difference <= 0.000245, "\(difference): at most half an f16 step of the saved values")
    }

    @Test func positionsThatAreNotTheTableAreStored() throws {
        let c = try Checkpoint.open(PlanningTests.fixture)
        let source = try #require(c.tensor(named: Self.name))
        var values = try source.decodedFloats()
        values[7] += 0.01
        let altered = try Tensor(shape: source.shape, floats: values)
        #expect(QuantizationCandidates.computed(Self.name, altered) == nil)
        #expect(QuantizationCandidates.computed(Self.name, source) == .sinusoids)
        // Only the audio encoder's positions are a known table: the decoder's are learned.
        #expect(QuantizationCandidates.computed("decoder.positional_embedding", source) == nil)
    }

    @Test func aKeepRuleStoresThem() throws {
        let c = try Checkpoint.open(PlanningTests.fixture)
        let plan = QuantizationPlanner.uniform(c, .q8_0, rules: [try KeepRule(parsing: "encoder.positional_embedding=f16")])
        let choice = try #require(plan.choices.first { $0.tensor == Self.name })
        #expect(choice.chosen == .f16 && choice.pinned)
    }
}
