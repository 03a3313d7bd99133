import Foundation
import KDQEngine
import KDQFormats
import KDQJSON
import Testing
@testable import KDQQuantize
@testable import KDQTensor

/// Activation-aware input scaling (`InputScaling`): the scaled model computes what the source
/// did, no group's fitted error exceeds its unscaled one, and what cannot be scaled is refused.
@Suite(.serialized) struct InputScalingTests {
    static let fixtures = SensitivityProfilerTests.root + "/../shared/fixtures"
    static let f32 = fixtures + "/ggml-tiny-random-f32.bin"

    /// The JFK sample's mel window and a few tokens the fixture's vocabulary holds.
    static func input(_ model: WhisperModel) throws -> (mel: [Float], tokens: [Int]) {
        (model.melWindow(try AudioLoader.load(SensitivityProfilerTests.root + "/samples/jfk.wav")), [1, 17, 440, 286, 616, 1000])
    }

    /// The f32 fixture (whose vocabulary cannot decode) scaled for q4_0 from its layers' inputs
    /// on the JFK sample, teacher-forced.
    static let scaled: (source: Checkpoint, scaled: Checkpoint, record: InputScalingRecord) = {
        let source = try! Checkpoint.open(f32)
        let model = try! WhisperModel(source)
        let (mel, tokens) = try! input(model)
        var statistics = ActivationStatistics()
        try! model.observingLinearInputs({ statistics.add($0, $1, rows: $2) }) { _ = try model.forward(mel: mel, tokens: tokens, keepHidden: false) }
        let (scaled, record) = try! InputScaling.fit(source, statistics: statistics, encoding: .q4_0, blocks: .search)
        return (source, scaled, record)
    }()

    @Test func theScaledModelComputesTheSameLogitsAndEncoderOutput() throws {
        let (source, scaled, record) = Self.scaled
        #expect(record.groups.contains { $0.exponent > 0 }, "no group was scaled: \(record.groups.map(\.exponent))")
        let original = try WhisperModel(source), folded = try WhisperModel(scaled)
        let (mel, tokens) = try Self.input(original)
        let a = try original.forward(mel: mel, tokens: tokens, keepHidden: false)
        let b = try folded.forward(mel: mel, tokens: tokens, keepHidden: false)
        func maxDifference(_ x: [Float], _ y: [Float]) -> (difference: Float, scale: Float) {
            (zip(x, y).map { abs($0 - $1) }.max() ?? 0, x.map(abs).max() ?? 0)
        }
        let encoder = maxDifference(a.encoderOutput, b.encoderOutput), logits = maxDifference(a.logits, b.logits)
        print("input scaling: max |Δ encoder output| \(encoder.difference) of \(encoder.scale), max |Δ logit| \(logits.difference) of \(logits.scale)")
        #expect(encoder.difference <= 1e-4 * max(1, encoder.scale), "encoder output differs by \(encoder.difference)")
        #expect(logits.difference <= 1e-4 * max(1, logits.scale), "logits differ by \(logits.difference)")
    }

    @Test func noGroupsFittedErrorExceedsItsUnscaledOne() {
        let record = Self.scaled.record
        #expect(record.groups.count == InputScaling.groups(Self.scaled.source.dims).count)
        for g in record.groups {
            #expect(g.scaledError <= g.unscaledError, "\(g.source): \(g.scaledError) > \(g.unscaledError)")
        }
        #expect(record.errorRatio < 1, "ratio \(record.errorRatio)")
        print("input scaling: activation-weighted error in q4_0 scaled / unscaled = \(record.errorRatio)")
    }

    @Test func theRecordReadsBack() throws {
        let json = Self.scaled.record.json
        #expect(try InputScalingRecord(json: JSONValue.parse(json.serialized(pretty: false))) == Self.scaled.record)
    }

    @Test func groupsNameTensorsTheModelHas() throws {
        let source = Self.scaled.source
        let groups = InputScaling.groups(source.dims)
        #expect(groups.count == 3 * source.dims.nAudioLayer + 5 * source.dims.nTextLayer)
        for g in groups {
            for layer in g.layers { #expect(source.tensor(named: layer) != nil, "\(layer)") }
            let divided = g.fold == .layerNorm ? [g.source + ".weight", g.source + ".bias"] : [g.source + ".value.weight", g.source + ".value.bias"]
            for name in divided { #expect(source.tensor(named: name) != nil, "\(name)") }
        }
    }

    @Test func exponentZeroLeavesEveryColumnAsItIs() {
        #expect(InputScaling.scales([1e-9, 0.5, 3, 1e4], exponent: 0) == [1, 1, 1, 1])
        let s = InputScaling.scales([1, 4, 16], exponent: 1)  // rms 1, 2, 4 over √(1·4)
        #expect(zip(s, [0.5, 1, 2]).allSatisfy { abs($0 - $1) < 1e-6 }, "\(s)")
    }

    @Test func aQuantizedSourceIsRefusedNamingTheTensor() throws {
        let source = try Checkpoint.open(Self.fixtures + "/ggml-tiny-random-q4_0.bin")
        var statistics = ActivationStatistics()
        let x = [Float](repeating: 1, count: 64)
        x.withUnsafeBufferPointer { statistics.add("encoder.blocks.0.attn.query.weight", $0, rows: 1) }
        #expect {
            _ = try InputScaling.fit(source, statistics: statistics, encoding: .q4_0, blocks: .search)
        } throws: { error in
            "\(error)".contains("encoder.blocks.0.attn.query.weight") && "\(error)".contains("float encoding") && "\(error)".contains("q4_0")
        }
    }

    @Test func aNonBlockEncodingIsRefused() throws {
        #expect {
            _ = try InputScaling.fit(Self.scaled.source, statistics: ActivationStatistics(), encoding: .f16, blocks: .search)
        } throws: { "\($0)".contains("ggml block encoding") && "\($0)".contains("f16") }
    }

    @Test func anEncodingWhoseBlocksTileNoLayerIsRefused() throws {
        // The fixture's layers are 64 and 256 wide: q3_K's 256-value super-blocks tile only fc2, which is not scaled.
        #expect {
            _ = try InputScaling.fit(Self.scaled.source, statistics: ActivationStatistics(), encoding: .q3_K, blocks: .search)
        } throws: { "\($0)".contains("q3_K's 256-value blocks tile none") && "\($0)".contains("rows of 64") }
    }

    @Test func aRecordWithAnUnknownFoldIsRefused() throws {
        let json = try JSONValue.parse(#"{"encoding": "q4_0", "exponents": [0, 0.5], "groups": [{"fold": "conv", "source": "x", "exponent": 0.5}]}"#)
        #expect { _ = try InputScalingRecord(json: json) } throws: { "\($0)".contains("groups[0]") && "\($0)".contains("fold") }
    }

    @Test func aRecordWithAnUnknownEncodingIsRefused() throws {
        let json = try JSONValue.parse(#"{"encoding": "q9_9", "exponents": [], "groups": []}"#)
        #expect { _ = try InputScalingRecord(json: json) } throws: { "\($0)".contains("q9_9") }
    }
}
