import CBLAS

/// Multi-head attention of `nq` queries over `nk` keys/values (rows of width `d`, `heads`
/// heads), with an optional causal offset: query i sees keys 0 ... offset + i.
enum Attention {
    static func attend(q: UnsafePointer<Float>, nq: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>, nk: Int, d: Int, heads: Int,
                       causalOffset: Int?, into out: UnsafeMutablePointer<Float>) {
        let dh = d / heads
        let scale = 1 / Float(dh).squareRoot()
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
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(nq), Int32(dh), Int32(nk), 1,
                        scores, Int32(nk), v + h * dh, Int32(d), 0, out + h * dh, Int32(d))
        }
    }
}
