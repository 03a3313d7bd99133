import CBLAS
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
            // One query (a decoding step): matrix-vector products per head.
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: nk)
            defer { scores.deallocate() }
            for h in 0..<heads {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(nk), Int32(dh), scale, k + h * dh, Int32(d), q + h * dh, 1, 0, scores, 1)
                Kernels.softmax(scores, count: min(nk, (causalOffset ?? nk) + 1), width: nk)
                weights?(h, scores)
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(nk), Int32(dh), 1, v + h * dh, Int32(d), scores, 1, 0, out + h * dh, 1)
            }
            return
        }
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: nq * nk)
        defer { scores.deallocate() }
        for h in 0..<heads {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(nq), Int32(nk), Int32(dh), scale,
                        q + h * dh, Int32(d), k + h * dh, Int32(d), 0, scores, Int32(nk))
            if let offset = causalOffset {
                Kernels.softmaxRows(scores, nq, nk) { offset + $0 + 1 }
            } else {
                Kernels.softmaxRows(scores, nq, nk)
            }
            weights?(h, scores)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(nq), Int32(dh), Int32(nk), 1,
                        scores, Int32(nk), v + h * dh, Int32(d), 0, out + h * dh, Int32(d))
        }
    }
}
