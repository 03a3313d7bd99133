import CBLAS
import CKernels
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The dense building blocks, on row-major f32 buffers: GEMM through OpenBLAS, and the
/// element-wise steps (layer norm, GELU, softmax) spread over the cores, GELU and softmax in
/// `CKernels` (AVX2 + FMA where the CPU has them, portable C otherwise, chosen at run time).
package enum Kernels {
    /// The cores BLAS uses outside the per-head attention.
    package static let cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))

    /// Y[m, n] = X[m, k] · W[n, k]ᵀ (+ bias[n]): a linear layer on `m` rows. With a bias, Y
    /// starts as the bias in every row and BLAS adds the product to it (β = 1), which saves
    /// BLAS's pass that zeroes Y and a second pass that adds the bias.
    package static func linear(_ x: UnsafePointer<Float>, _ m: Int, _ k: Int, _ w: UnsafePointer<Float>, _ n: Int,
                       bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) {
        let beta = startWithBias(bias, in: y, m, n)
        if m == 1 {  // one row (a decoding step): a matrix-vector product, no packing of W
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), 1, w, Int32(k), x, 1, beta, y, 1)
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, x, Int32(k), w, Int32(k),
                        beta, y, Int32(n))
        }
    }

    /// Copies `bias` into each of the `m` rows of width `n` of `y` and returns the β with which a
    /// BLAS product must then be added to `y` (1; 0 with no bias, when `y` is left as it is).
    package static func startWithBias(_ bias: UnsafePointer<Float>?, in y: UnsafeMutablePointer<Float>, _ m: Int, _ n: Int) -> Float {
        guard let bias else { return 0 }
        parallelRows(m) { r in (y + r * n).update(from: bias, count: n) }
        return 1
    }

    /// Y[r, c] += bias[c] for every one of the `m` rows of width `n`.
    package static func addBias(_ bias: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, _ m: Int, _ n: Int) {
        for r in 0..<m {
            let row = y + r * n
            for c in 0..<n { row[c] += bias[c] }
        }
    }

    /// Σ a[i]·b[i] over `n` values (two 8-wide accumulators).
    @inline(__always) package static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var i = 0
        while i + 16 <= n {
            acc0 += ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            acc1 += ra.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self)
            i += 16
        }
        var sum = (acc0 + acc1).sum()
        while i < n {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    /// Layer norm over rows of width `n` (eps 1e-5, as openai-whisper); `mean` and `rstd`, when
    /// given, receive each row's mean and 1/σ (what training's backward needs).
    package static func layerNorm(_ x: UnsafePointer<Float>, _ rows: Int, _ n: Int, _ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>,
                                  into y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>? = nil,
                                  rstd: UnsafeMutablePointer<Float>? = nil) {
        parallelRows(rows) { r in
            let xr = x + r * n, yr = y + r * n
            let mu = Float(sumInDouble(n) { Double(xr[$0]) } / Double(n))
            let squares = sumInDouble(n) { let d = Double(xr[$0] - mu); return d * d }
            let inv = Float(1 / (squares / Double(n) + 1e-5).squareRoot())
            for i in 0..<n { yr[i] = (xr[i] - mu) * inv * gamma[i] + beta[i] }
            mean?[r] = mu
            rstd?[r] = inv
        }
    }

    /// Σ term(i) for i in 0..<n in double, in four interleaved partial sums (four independent
    /// chains of additions instead of one: a layer norm's row sums were latency-bound).
    @inline(__always) private static func sumInDouble(_ n: Int, _ term: (Int) -> Double) -> Double {
        var s0: Double = 0, s1: Double = 0, s2: Double = 0, s3: Double = 0
        var i = 0
        while i + 4 <= n {
            s0 += term(i)
            s1 += term(i + 1)
            s2 += term(i + 2)
            s3 += term(i + 3)
            i += 4
        }
        while i < n {
            s0 += term(i)
            i += 1
        }
        return (s0 + s1) + (s2 + s3)
    }

    /// GELU with erf, in place (erf to 1.5e-7; `kdq_gelu`).
    package static func gelu(_ x: UnsafeMutablePointer<Float>, _ count: Int) {
        let chunk = 1 << 14
        parallelRows((count + chunk - 1) / chunk) { c in
            let start = c * chunk
            kdq_gelu(x + start, min(chunk, count - start))
        }
    }

    /// Softmax of each row of width `n`, in place; row r uses only its first `valid(r)` entries
    /// (the rest become 0), for causal masks.
    package static func softmaxRows(_ x: UnsafeMutablePointer<Float>, _ rows: Int, _ n: Int, valid: (Int) -> Int = { _ in Int.max }) {
        parallelRows(rows) { r in softmax(x + r * n, count: min(n, valid(r)), width: n) }
    }

    /// The softmax of each row without its normalization: row r becomes exp(x - max) over its
    /// first `valid(r)` entries (the rest 0) and `inverseSums[r]` 1 / their sum, by which the
    /// caller scales what it computes from the row (`kdq_softmax_exp`).
    package static func unnormalizedSoftmaxRows(_ x: UnsafeMutablePointer<Float>, _ rows: Int, _ n: Int,
                                                inverseSums: UnsafeMutablePointer<Float>, valid: (Int) -> Int = { _ in Int.max }) {
        parallelRows(rows) { r in inverseSums[r] = Float(1 / kdq_softmax_exp(x + r * n, Int32(min(n, valid(r))), Int32(n))) }
    }

    /// Softmax of the first `count` entries of a row of `width` (the sum in double, as the
    /// reference's accuracy needs; `kdq_softmax`); the rest become 0.
    @inline(__always) package static func softmax(_ row: UnsafeMutablePointer<Float>, count v: Int, width: Int) {
        kdq_softmax(row, Int32(v), Int32(width))
    }

    /// Runs `body` for every row, in parallel when there are enough rows.
    package static func parallelRows(_ rows: Int, _ body: (Int) -> Void) {
        if rows < 64 {
            for r in 0..<rows { body(r) }
            return
        }
        let workers = min(rows, 2 * max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var r = w
            while r < rows { body(r); r += workers }
        }
    }
}
