import Foundation
import Testing
import KDQEngine
import KDQFormats
import KDQTensor
@testable import KDQQuantize

/// The profiler on the real tiny.en (when fetched) with the JFK sample as calibration audio.
@Suite(.serialized) struct SensitivityProfilerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let tinyEn: String? = {
        let dir = root + "/models/tiny.en"
        return FileManager.default.fileExists(atPath: dir + "/model.bin") ? dir : nil
    }()

    static func calibration() throws -> CalibrationSet {
        let manifest = FileManager.default.temporaryDirectory.appendingPathComponent("kdq-calibration-\(getpid()).jsonl").path
        let line = #"{"id": "jfk", "audio": "\#(root)/samples/jfk.wav", "text": "And so my fellow Americans ask not what your country can do for you ask what you can do for your country."}"#
        try line.write(toFile: manifest, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: manifest) }
        return try CalibrationSet(manifest: manifest, count: 4)
    }

    @Test(.enabled(if: tinyEn != nil, "run scripts/fetch-models.sh"))
    func measuresLayersFromTheTensorOnwardAndKLGrowsWithFewerBits() throws {
        let checkpoint = try Checkpoint.open(Self.tinyEn!)
        let model = try WhisperModel(checkpoint)
        let profiler = try SensitivityProfiler(checkpoint: checkpoint, model: model, calibration: try Self.calibration(),
                                               options: DecodingOptions(), blocks: .nearest, weighting: .none)
        let profile = try profiler.profile([("encoder.blocks.2.mlp.0.weight", [.q8_0, .q4_0]),
                                            ("decoder.blocks.1.cross_attn.value.weight", [.q8_0, .q4_0])], measureAll: true)
        let encoderEntry = profile.entry("encoder.blocks.2.mlp.0.weight")!
        let q4 = encoderEntry.alternatives.first { $0.encoding == .q4_0 }!, q8 = encoderEntry.alternatives.first { $0.encoding == .q8_0 }!
        #expect(q4.measured && q8.measured)
        #expect(q4.meanKL! > q8.meanKL! && q8.meanKL! > 0, "q4_0 \(q4.meanKL!) q8_0 \(q8.meanKL!)")
        #expect(q4.encoderLayers[0] == 0 && q4.encoderLayers[1] == 0 && q4.encoderLayers[2] > 0, "\(q4.encoderLayers)")
        #expect(q4.weight.snrDecibels < q8.weight.snrDecibels)
        let decoderEntry = profile.entry("decoder.blocks.1.cross_attn.value.weight")!
        let d4 = decoderEntry.alternatives.first { $0.encoding == .q4_0 }!
        #expect(d4.encoderLayers.allSatisfy { $0 == 0 } && d4.decoderLayers[0] == 0 && d4.decoderLayers[1] > 0, "\(d4.decoderLayers)")
        // The model's weights are restored after each measurement.
        #expect(try profiler.meanKL(of: model) == 0)
    }

    @Test(.enabled(if: tinyEn != nil, "run scripts/fetch-models.sh"))
    func scaledLossesFollowTheMeasuredProbe() throws {
        let checkpoint = try Checkpoint.open(Self.tinyEn!)
        let profiler = try SensitivityProfiler(checkpoint: checkpoint, model: try WhisperModel(checkpoint), calibration: try Self.calibration(),
                                               options: DecodingOptions(), blocks: .nearest, weighting: .none)
        let entry = try profiler.profile([("decoder.blocks.3.mlp.2.weight", [.q8_0, .q5_0, .q4_0])], measureAll: false).entries[0]
        let probe = entry.alternatives.first { $0.encoding == .q4_0 }!
        #expect(probe.measured)
        for a in entry.alternatives where a.encoding == .q8_0 || a.encoding == .q5_0 {
            #expect(!a.measured)
            let expected = probe.meanKL! * a.weight.squaredError / probe.weight.squaredError
            #expect(abs(a.meanKL! - expected) <= 1e-12 * max(1, expected))
        }
    }

    /// A guided plan's predicted KL (the sum of one-at-a-time losses) is within a factor of
    /// two of the KL the quantized model actually has (the errors are not exactly additive).
    @Test(.enabled(if: tinyEn != nil, "run scripts/fetch-models.sh"))
    func predictedKLMatchesTheQuantizedModel() throws {
        var checkpoint = try Checkpoint.open(Self.tinyEn!)
        let profiler = try SensitivityProfiler(checkpoint: checkpoint, model: try WhisperModel(checkpoint), calibration: try Self.calibration(),
                                               options: DecodingOptions(), blocks: .nearest, weighting: .none)
        let rules = try ["encoder.*", "decoder.blocks.0.*", "decoder.blocks.1.*", "decoder.blocks.2.*", "decoder.token_embedding*"]
            .map { try KeepRule(parsing: $0) }
        let tensors = QuantizationPlanner.measurable(checkpoint, rules: rules, among: [.q8_0, .q4_0])
        #expect(tensors.count == 11)  // decoder block 3's ten matrices and the positional embedding
        let profile = try profiler.profile(tensors)
        let plan = try QuantizationPlanner.guided(checkpoint, profile: profile, budget: .sameAsUniform(.q5_0), rules: rules)
        _ = try plan.apply(to: &checkpoint, quantizer: TensorQuantizer(blocks: .nearest))
        let measured = try profiler.meanKL(of: try WhisperModel(checkpoint))
        let ratio = measured / plan.predictedKL!
        #expect(ratio > 0.5 && ratio < 2, "predicted \(plan.predictedKL!) measured \(measured)")
    }
}
