import CBLAS
import CKernels
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Multi-head attention of `nq` queries over `nk` keys/values (rows of width `d`, `heads`
/// heads), with an optional causal offset: query i sees keys 0 ... offset + i. `weights`, when
/// given, sees each head's attention weights (`nq × nk`, rows summing to 1).
enum Attention {
    static func attend(q: UnsafePointer<Float>, nq: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>, nk: Int, d: Int, heads: Int,
                       causalOffset: Int?, into out: UnsafeMutablePointer<Float>,
                       weights: ((Int, UnsafePointer<Float>) -> Void)? = nil) {
        let dh = d / heads
        let scale = 1 / Float(dh).squareRoot()
        if nq == 1 {
            // One query (a decoding step): each head in one fused pass (`kdq_attend_one`:
            // scores, softmax, weighted values), the heads shared among the cores. No BLAS call:
            // OpenBLAS's threads, woken for a product this small, would spin against the
            // engine's own workers. With `weights` (read in head order) the heads run in turn.
            let valid = min(nk, (causalOffset ?? nk) + 1)
            let workers = weights == nil ? min(heads, Kernels.cores) : 1
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: nk)
                defer { scores.deallocate() }
                (scores + valid).initialize(repeating: 0, count: nk - valid)
                var h = w
                while h < heads {
                    kdq_attend_one(q + h * dh, k + h * dh, v + h * dh, Int32(valid), Int32(d), Int32(dh), scale, scores, out + h * dh)
                    weights?(h, scores)
                    h += workers
                }
            }
            return
        }
        // Queries a block of rows at a time where a head's scores would not stay in the
        // last-level cache, so that a block's scores (256 × 1,500 in the encoder: 1.5 MB) stay
        // in cache through the scores GEMM, the softmax and the values GEMM instead of making
        // four passes over memory per head; where they fit, whole heads (half the products, and
        // half the wake-ups of BLAS's threads: 10% of base's encoder on a 260 MB L3); `weights`
        // sees whole heads. The softmax skips its last pass over the scores: the values GEMM
        // multiplies exp(s - max), and its rows (64 wide, not 1,500) are divided by the sums.
        let block = weights == nil && nq * nk * 4 > lastLevelCacheBytes / 4 ? min(nq, 256) : nq
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: block * nk)
        let inverseSums = UnsafeMutablePointer<Float>.allocate(capacity: block)
        defer {
            scores.deallocate()
            inverseSums.deallocate()
        }
        for h in 0..<heads {
            var first = 0
            while first < nq {
                let rows = min(block, nq - first)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(nk), Int32(dh), scale,
                            q + first * d + h * dh, Int32(d), k + h * dh, Int32(d), 0, scores, Int32(nk))
                let valid: (Int) -> Int = causalOffset.map { offset in { offset + first + $0 + 1 } } ?? { _ in Int.max }
                Kernels.unnormalizedSoftmaxRows(scores, rows, nk, inverseSums: inverseSums, valid: valid)
                let headOut = out + first * d + h * dh
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(dh), Int32(nk), 1,
                            scores, Int32(nk), v + h * dh, Int32(d), 0, headOut, Int32(d))
                scaleRows(headOut, rows, width: dh, stride: d, by: inverseSums)
                if let weights {
                    scaleRows(scores, rows, width: nk, stride: nk, by: inverseSums)
                    weights(h, scores)
                }
                first += rows
            }
        }
    }

    /// The CPU's last-level cache (0 where the system does not say).
    private static let lastLevelCacheBytes = max(0, sysconf(Int32(_SC_LEVEL3_CACHE_SIZE)))

    /// Multiplies row r (`width` values, rows `stride` apart) by `factors[r]`.
    private static func scaleRows(_ x: UnsafeMutablePointer<Float>, _ rows: Int, width: Int, stride: Int, by factors: UnsafePointer<Float>) {
        for r in 0..<rows {
            let row = x + r * stride, f = factors[r]
            for c in 0..<width { row[c] *= f }
        }
    }
}
