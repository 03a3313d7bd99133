import Foundation

/// Whisper's sinusoidal position table (`whisper.model.sinusoids`, the audio encoder's
/// positional embedding): row t of a `length × channels` table holds sin(t·τᵢ) for the first
/// channels/2 columns and cos(t·τᵢ) for the rest, τᵢ = exp(−i·ln 10000 / (channels/2 − 1)).
/// A tensor stored as `Encoding.sinusoids` holds no bytes: its values are computed from its
/// shape, in f32 as openai-whisper computes them.
public enum Sinusoids {
    /// The most values a computed table may have: a declared shape cannot make a reader compute
    /// more (Whisper large's table is 1,500 × 1,280 = 1.92 M).
    public static let maximumElements = 1 << 24

    /// The largest difference from the table a tensor may have and still be stored as computed:
    /// about twice the rounding of an f16 copy of it (values in [−1, 1] round by at most 2⁻¹¹).
    public static let tolerance: Float = 1e-3

    /// True when `shape` is a table this type computes: `[length, channels]` with an even
    /// number of channels, at least 4, and at most `maximumElements` values.
    public static func isComputable(_ shape: [Int]) -> Bool {
        guard shape.count == 2, shape[0] >= 0, shape[1] >= 4, shape[1] % 2 == 0 else { return false }
        let (n, overflow) = shape[0].multipliedReportingOverflow(by: shape[1])
        return !overflow && n <= maximumElements
    }

    /// Writes the table's elements `start ..< start + count` (row-major) of `shape` into `out`;
    /// `shape` must be computable.
    public static func fill(_ shape: [Int], start: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        let channels = shape[1], half = channels / 2
        let rates = timescales(half)
        for k in 0..<count {
            let index = start + k
            let t = index / channels, c = index % channels
            // As openai-whisper: the time step times the rate in f32, its sine or cosine.
            let angle = Float(t) * rates[c % half]
            out[k] = Float(c < half ? sin(Double(angle)) : cos(Double(angle)))
        }
    }

    /// The largest absolute difference between `values` (a `shape` tensor) and the table.
    public static func maximumDifference(_ values: [Float], shape: [Int]) -> Float {
        guard isComputable(shape), values.count == shape[0] * shape[1] else { return .infinity }
        var table = [Float](repeating: 0, count: values.count)
        table.withUnsafeMutableBufferPointer { if let p = $0.baseAddress { fill(shape, start: 0, count: values.count, into: p) } }
        var worst: Float = 0
        for i in 0..<values.count {
            let d = abs(values[i] - table[i])
            if !(d <= worst) { worst = d.isNaN ? .infinity : d }
        }
        return worst
    }

    /// τᵢ for i < `half`, in f32 (the rate step in f64, as Python computes it).
    private static func timescales(_ half: Int) -> [Float] {
        let step = Float(log(10000.0) / Double(half - 1))
        return (0..<half).map { Float(exp(Double(-step * Float($0)))) }
    }
}
