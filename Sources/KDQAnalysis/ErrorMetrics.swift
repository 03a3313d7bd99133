import CBLAS
import KDQTensor
#if canImport(Glibc)
import Glibc
#endif

/// Accumulated differences between a reference tensor `a` and a candidate `b` of the same
/// element count; sums are kept so that tensors and layers can be merged.
public struct ErrorMetrics: Sendable, Equatable {
    public var count = 0
    /// Σ (a − b)²
    public var squaredError: Double = 0
    /// Σ a²
    public var referenceEnergy: Double = 0
    /// Σ b²
    public var candidateEnergy: Double = 0
    /// Σ a·b
    public var dot: Double = 0
    /// max |a − b|
    public var maxAbsError: Float = 0

    public init() {}

    public var rmse: Double { count == 0 ? 0 : (squaredError / Double(count)).squareRoot() }
    /// ‖a − b‖ / ‖a‖ (0 when both are zero).
    public var relativeError: Double {
        referenceEnergy == 0 ? (squaredError == 0 ? 0 : .infinity) : (squaredError / referenceEnergy).squareRoot()
    }
    /// a·b / (‖a‖‖b‖); 1 when both are all zeros.
    public var cosine: Double {
        let denominator = (referenceEnergy * candidateEnergy).squareRoot()
        return denominator == 0 ? (referenceEnergy == candidateEnergy ? 1 : 0) : dot / denominator
    }
    /// 10·log10(‖a‖² / ‖a − b‖²); +∞ when identical.
    public var snrDecibels: Double {
        squaredError == 0 ? .infinity : 10 * log10(referenceEnergy / squaredError)
    }
    /// True when every element is bit-for-bit equal in value.
    public var isExact: Bool { squaredError == 0 && maxAbsError == 0 }

    public mutating func merge(_ o: ErrorMetrics) {
        count += o.count
        squaredError += o.squaredError
        referenceEnergy += o.referenceEnergy
        candidateEnergy += o.candidateEnergy
        dot += o.dot
        maxAbsError = Swift.max(maxAbsError, o.maxAbsError)
    }

    /// Adds `n` element pairs; `scratch` holds at least `n` floats.
    mutating func accumulate(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int, scratch: UnsafeMutablePointer<Float>) {
        var worst: Float = maxAbsError
        for i in 0..<n {
            let d = a[i] - b[i]
            scratch[i] = d
            worst = Swift.max(worst, abs(d))
            if d.isNaN { worst = .nan }
        }
        let n32 = Int32(n)
        squaredError += cblas_dsdot(n32, scratch, 1, scratch, 1)
        referenceEnergy += cblas_dsdot(n32, a, 1, a, 1)
        candidateEnergy += cblas_dsdot(n32, b, 1, b, 1)
        dot += cblas_dsdot(n32, a, 1, b, 1)
        maxAbsError = worst
        count += n
    }

    /// Compares two f32 arrays of equal length (the shorter length when they differ).
    public static func compare(_ a: [Float], _ b: [Float]) -> ErrorMetrics {
        var m = ErrorMetrics()
        let n = Swift.min(a.count, b.count)
        var scratch = [Float](repeating: 0, count: n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                scratch.withUnsafeMutableBufferPointer { s in
                    if n > 0 { m.accumulate(pa.baseAddress!, pb.baseAddress!, n, scratch: s.baseAddress!) }
                }
            }
        }
        return m
    }

    /// Compares two tensors of equal element count, decoding both in chunks.
    public static func compare(_ a: Tensor, _ b: Tensor) throws -> ErrorMetrics {
        var m = ErrorMetrics()
        let chunk = 1 << 18
        let buffers = UnsafeMutablePointer<Float>.allocate(capacity: 3 * chunk)
        defer { buffers.deallocate() }
        var start = 0
        while start < a.elementCount {
            let n = Swift.min(chunk, a.elementCount - start)
            try a.decode(start: start, count: n, into: buffers)
            try b.decode(start: start, count: n, into: buffers + chunk)
            m.accumulate(buffers, buffers + chunk, n, scratch: buffers + 2 * chunk)
            start += n
        }
        return m
    }
}
