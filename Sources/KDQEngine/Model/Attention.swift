import CBLAS
import CKernels
import Dispatch

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
        // Queries a block of rows at a time, so that a block's scores (256 × 1,500 in the
        // encoder: 1.5 MB) stay in cache through the scores GEMM, the softmax and the values
        // GEMM instead of making four passes over memory per head; `weights` sees whole heads.
        let block = weights == nil ? min(nq, 256) : nq
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: block * nk)
        defer { scores.deallocate() }
        for h in 0..<heads {
            var first = 0
            while first < nq {
                let rows = min(block, nq - first)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(nk), Int32(dh), scale,
                            q + first * d + h * dh, Int32(d), k + h * dh, Int32(d), 0, scores, Int32(nk))
                if let offset = causalOffset {
                    Kernels.softmaxRows(scores, rows, nk) { offset + first + $0 + 1 }
                } else {
                    Kernels.softmaxRows(scores, rows, nk)
                }
                weights?(h, scores)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(dh), Int32(nk), 1,
                            scores, Int32(nk), v + h * dh, Int32(d), 0, out + first * d + h * dh, Int32(d))
                first += rows
            }
        }
    }
}
