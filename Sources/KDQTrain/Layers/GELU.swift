import KDQEngine
#if canImport(Glibc)
import Glibc
#endif

/// GELU with erf (openai-whisper's `nn.GELU()`), forward and backward.
enum GELU {
    /// y = x·Φ(x), from the pre-activation `x` into `y` (may be the same buffer).
    static func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ count: Int) {
        chunks(count) { i in y[i] = 0.5 * x[i] * (1 + erff(x[i] * 0.70710678118654752)) }
    }

    /// d (in place on dy) = dy·(Φ(x) + x·φ(x)).
    static func backward(_ dy: UnsafeMutablePointer<Float>, preActivation x: UnsafePointer<Float>, _ count: Int) {
        chunks(count) { i in
            let v = x[i]
            let cdf = 0.5 * (1 + erff(v * 0.70710678118654752))
            let pdf = expf(-0.5 * v * v) * 0.39894228040143268
            dy[i] *= cdf + v * pdf
        }
    }

    private static func chunks(_ count: Int, _ body: (Int) -> Void) {
        let chunk = 1 << 14
        Kernels.parallelRows((count + chunk - 1) / chunk) { c in
            for i in (c * chunk)..<min(count, (c + 1) * chunk) { body(i) }
        }
    }
}
