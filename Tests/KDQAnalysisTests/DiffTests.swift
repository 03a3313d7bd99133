import Foundation
import Testing
@testable import KDQAnalysis
import KDQFormats
import KDQTensor

@Suite struct DiffTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("KDQFormatsTests/Fixtures").path

    @Test func metricsOfKnownVectors() throws {
        let a = try Tensor(shape: [4], floats: [1, 2, 3, 4])
        let b = try Tensor(shape: [4], floats: [1, 2, 3, 5])
        let m = try ErrorMetrics.compare(a, b)
        #expect(m.maxAbsError == 1)
        #expect(abs(m.rmse - 0.5) < 1e-12)
        #expect(abs(m.relativeError - (1.0 / 30).squareRoot()) < 1e-12)
        #expect(abs(m.snrDecibels - 10 * log10(30.0)) < 1e-9)
        #expect(abs(m.cosine - 34 / (30.0 * 39).squareRoot()) < 1e-12)
        #expect(!m.isExact)
    }

    @Test func identicalTensorsAreExact() throws {
        let a = try Tensor(shape: [3], floats: [0, -1, 2])
        let m = try ErrorMetrics.compare(a, a)
        #expect(m.isExact && m.snrDecibels == .infinity && m.cosine == 1)
    }

    @Test func ct2Float16EqualsOpenAIPT() throws {
        let a = try Checkpoint.open(Self.fixtures + "/ct2-float16"), b = try Checkpoint.open(Self.fixtures + "/tiny-random.pt")
        let d = try CheckpointDiff(a, b)
        #expect(d.isIdentical)
        #expect(d.tensors.count == 89)
        #expect(d.overall.squaredError == 0)
        print("ct2-float16 vs tiny-random.pt: max abs error \(d.overall.maxAbsError) (tolerance 0)")
    }

    @Test func quantizedDiffReportsLayers() throws {
        let a = try Checkpoint.open(Self.fixtures + "/reference-f32.safetensors")
        let b = try Checkpoint.open(Self.fixtures + "/ggml-tiny-random-q4_0.bin")
        let d = try CheckpointDiff(a, b)
        #expect(!d.isIdentical)
        #expect(d.layers.map(\.layer).contains("encoder.blocks.1"))
        let block = try #require(d.layers.first { $0.layer == "decoder.blocks.0" })
        #expect(block.tensors == 24)
        #expect(block.metrics.snrDecibels > 20 && block.metrics.snrDecibels < 60)
        #expect(d.tensors.first { $0.name == "decoder.blocks.0.mlp.0.weight" }?.encodingB == .q4_0)
    }

    @Test func filterLimitsTheComparison() throws {
        let a = try Checkpoint.open(Self.fixtures + "/reference-f32.safetensors")
        let pattern = NamePattern("encoder.blocks.*.attn.*")
        let d = try CheckpointDiff(a, a, include: pattern.matches)
        #expect(d.tensors.count == 14)
        #expect(d.tensors.allSatisfy { $0.name.hasPrefix("encoder.blocks.") })
    }

    @Test func namePatterns() {
        #expect(NamePattern("encoder.conv*").matches("encoder.conv1.weight"))
        #expect(!NamePattern("encoder.conv?").matches("encoder.conv1.weight"))
        #expect(NamePattern("*.bias").matches("decoder.ln.bias"))
        #expect(NamePattern("mlp").matches("decoder.blocks.0.mlp.0.weight"))
    }

    @Test func inspectJSONHasEveryTensor() throws {
        let c = try Checkpoint.open(Self.fixtures + "/ggml-tiny-random-q8_0.bin")
        let s = try CheckpointSummary(c, withStatistics: true)
        let json = s.json
        #expect(json["tensors"]?.arrayValue?.count == 89)
        #expect(json["format"]?.stringValue == "ggml")
        #expect(json["tensors"]?.arrayValue?.first?["stats"]?["nan"]?.intValue == 0)
    }
}
