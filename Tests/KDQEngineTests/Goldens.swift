import Foundation
import KDQFormats
import KDQTensor
import KDQTestSupport

/// Goldens written by openai-whisper (fp32, CPU): the random model's in this package, the real
/// tiny.en and base ones in ../shared/reference (or $KDQ_REFERENCE_DIR) when present.
typealias Golden = SafetensorsGolden

extension SafetensorsGolden {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let randomModel = packageRoot + "/Tests/KDQFormatsTests/Fixtures/tiny-random.pt"
    static let randomGolden = packageRoot + "/Tests/KDQEngineTests/Fixtures/golden-jfk.safetensors"
    /// The large-v3 / turbo layout (scripts/make-layout-fixtures.py): openai-whisper's .pt and
    /// whisper.cpp's conversion of it, with openai-whisper's forward.
    static let v3Model = packageRoot + "/Tests/KDQFormatsTests/Fixtures/random-v3.pt"
    static let v3GGML = packageRoot + "/Tests/KDQFormatsTests/Fixtures/ggml-random-v3.bin"
    static let v3Golden = packageRoot + "/Tests/KDQEngineTests/Fixtures/golden-v3.safetensors"

    static var referenceDirectory: String? {
        let candidates = [ProcessInfo.processInfo.environment["KDQ_REFERENCE_DIR"], packageRoot + "/../shared/reference"].compactMap { $0 }
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/tiny.en-jfk.safetensors") }
    }

    static func realModel(_ name: String) -> String? {
        let dir = packageRoot + "/models/" + name
        return FileManager.default.fileExists(atPath: dir + "/model.bin") ? dir : nil
    }
}

/// max |a − b| / max |b|, the relative error the engine tests bound.
func relativeError(_ a: [Float], _ b: [Float]) -> (relative: Float, maxAbs: Float) {
    var worst: Float = 0, scale: Float = 0
    for (x, y) in zip(a, b) {
        worst = max(worst, abs(x - y))
        scale = max(scale, abs(y))
    }
    return (scale == 0 ? worst : worst / scale, worst)
}
