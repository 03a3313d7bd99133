import Foundation
import KDQTestSupport

/// Central finite differences along a direction: (L(θ + εd) − L(θ − εd)) / 2ε against ⟨∇L, d⟩,
/// with d half the normalized gradient and half a random unit vector (so the check sees both the
/// gradient's direction and the others).
struct GradientCheck {
    var epsilon: Double = 1e-3
    var rng = SplitMix64(seed: 7)

    /// A random unit vector of `count` values.
    mutating func randomUnit(_ count: Int) -> [Float] {
        var v = (0..<count).map { _ in Float(Double(rng.next() % 2_000_001) / 1_000_000 - 1) }
        let norm = sqrt(v.reduce(0) { $0 + Double($1) * Double($1) })
        for i in v.indices { v[i] = Float(Double(v[i]) / max(norm, 1e-30)) }
        return v
    }

    /// The direction for `gradient`.
    mutating func direction(for gradient: [Float]) -> [Float] {
        let r = randomUnit(gradient.count)
        let norm = sqrt(gradient.reduce(0) { $0 + Double($1) * Double($1) })
        guard norm > 0 else { return r }
        var d = zip(gradient, r).map { Float(0.5 * Double($0) / norm) + 0.5 * $1 }
        let dn = sqrt(d.reduce(0) { $0 + Double($1) * Double($1) })
        for i in d.indices { d[i] = Float(Double(d[i]) / dn) }
        return d
    }

    /// The analytic and numeric directional derivatives of `loss` for the values at `values`
    /// (`gradient` their analytic gradient); the values are restored afterwards.
    mutating func compare(values: UnsafeMutablePointer<Float>, gradient: [Float], loss: () throws -> Double) rethrows -> (analytic: Double, numeric: Double) {
        let d = direction(for: gradient)
        let original = Array(UnsafeBufferPointer(start: values, count: gradient.count))
        defer { values.update(from: original, count: original.count) }
        let eps = Float(epsilon)
        for i in d.indices { values[i] = original[i] + eps * d[i] }
        let plus = try loss()
        for i in d.indices { values[i] = original[i] - eps * d[i] }
        let minus = try loss()
        let analytic = zip(gradient, d).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        return (analytic, (plus - minus) / (2 * epsilon))
    }

    /// |analytic − numeric| / max(|analytic|, |numeric|, floor).
    static func relativeError(_ r: (analytic: Double, numeric: Double), floor: Double = 1e-3) -> Double {
        abs(r.analytic - r.numeric) / max(abs(r.analytic), abs(r.numeric), floor)
    }
}

/// Deterministic values in [-scale, scale].
func randomValues(_ count: Int, scale: Float = 1, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in scale * Float(Double(rng.next() % 2_000_001) / 1_000_000 - 1) }
}

/// The package root and the random fixture model committed with the format tests.
enum TrainFixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let randomModel = packageRoot + "/Tests/KDQFormatsTests/Fixtures/tiny-random.pt"
    static let randomModelQ4 = packageRoot + "/Tests/KDQFormatsTests/Fixtures/ggml-tiny-random-q4_0.bin"
    static let golden = packageRoot + "/Tests/KDQTrainTests/Fixtures/torch-step-golden.safetensors"
    static let baseGolden = packageRoot + "/models/base-student-step-golden.safetensors"
}
