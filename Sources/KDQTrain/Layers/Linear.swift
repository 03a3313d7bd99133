import CBLAS
import KDQEngine

/// A linear layer Y[m, n] = X[m, k] · W[n, k]ᵀ + b: the engine's forward, and its backward.
enum Linear {
    /// Y = X·Wᵀ (+ bias), through the engine's kernel.
    static func forward(_ x: UnsafePointer<Float>, _ m: Int, _ k: Int, _ w: UnsafePointer<Float>, _ n: Int,
                        bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) {
        Kernels.linear(x, m, k, w, n, bias: bias, into: y)
    }

    /// From dY (m × n): dX = dY·W (written, or added when `accumulate`), dW += dYᵀ·X, db += Σ dY.
    /// Any of the three may be nil (a frozen weight, an input that needs no gradient).
    static func backward(_ dy: UnsafePointer<Float>, _ m: Int, _ n: Int, x: UnsafePointer<Float>, _ k: Int, w: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, accumulate: Bool = false,
                         dw: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?) {
        if let dx {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(k), Int32(n), 1, dy, Int32(n), w, Int32(k),
                        accumulate ? 1 : 0, dx, Int32(k))
        }
        if let dw {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(n), Int32(k), Int32(m), 1, dy, Int32(n), x, Int32(k),
                        1, dw, Int32(k))
        }
        if let db { columnSums(dy, m, n, into: db) }
    }

    /// out[c] += Σ_r a[r, c], in row order (deterministic).
    static func columnSums(_ a: UnsafePointer<Float>, _ rows: Int, _ n: Int, into out: UnsafeMutablePointer<Float>) {
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: n)
        defer { sums.deallocate() }
        sums.initialize(repeating: 0, count: n)
        for r in 0..<rows {
            let row = a + r * n
            for c in 0..<n { sums[c] += Double(row[c]) }
        }
        for c in 0..<n { out[c] += Float(sums[c]) }
    }
}
