import CBLAS
import KDQEngine

/// Scaled dot-product attention of a batch of sequences, head by head, keeping the
/// probabilities for the backward. Sequence b's queries are rows b·nq… of `q` and its keys and
/// values rows b·nk… of `k` and `v` (all of width d = heads · dh); `causal` lets query i see keys
/// 0…i only.
struct MultiHeadAttention {
    let batch, nq, nk, width, heads: Int
    let causal: Bool
    var headWidth: Int { width / heads }
    var scale: Float { 1 / Float(headWidth).squareRoot() }
    /// Values of the saved probabilities: batch · heads · nq · nk.
    var probabilityCount: Int { batch * heads * nq * nk }

    /// out = softmax(q·kᵀ·scale)·v per sequence and head; `probabilities` keeps the softmax.
    func forward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                 probabilities p: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let dh = headWidth, d = width
        for b in 0..<batch {
            for h in 0..<heads {
                let pb = p + (b * heads + h) * nq * nk
                let qb = q + b * nq * d + h * dh, kb = k + b * nk * d + h * dh, vb = v + b * nk * d + h * dh
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(nq), Int32(nk), Int32(dh), scale,
                            qb, Int32(d), kb, Int32(d), 0, pb, Int32(nk))
                if causal {
                    Kernels.softmaxRows(pb, nq, nk) { $0 + 1 }
                } else {
                    Kernels.softmaxRows(pb, nq, nk)
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(nq), Int32(dh), Int32(nk), 1,
                            pb, Int32(nk), vb, Int32(d), 0, out + b * nq * d + h * dh, Int32(d))
            }
        }
    }

    /// From d(out): dq, dk, dv (written, not added).
    func backward(dOut: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                  probabilities p: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                  dv: UnsafeMutablePointer<Float>) {
        let dh = headWidth, d = width
        let dp = UnsafeMutablePointer<Float>.allocate(capacity: nq * nk)
        defer { dp.deallocate() }
        for b in 0..<batch {
            for h in 0..<heads {
                let pb = p + (b * heads + h) * nq * nk
                let offQ = b * nq * d + h * dh, offK = b * nk * d + h * dh
                // dP = dO·Vᵀ, dV = Pᵀ·dO
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(nq), Int32(nk), Int32(dh), 1,
                            dOut + offQ, Int32(d), v + offK, Int32(d), 0, dp, Int32(nk))
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(nk), Int32(dh), Int32(nq), 1,
                            pb, Int32(nk), dOut + offQ, Int32(d), 0, dv + offK, Int32(d))
                // dS = P ∘ (dP − Σ_j dP·P), row by row
                let cols = nk
                Kernels.parallelRows(nq) { i in
                    let pr = pb + i * cols, dr = dp + i * cols
                    var dot: Double = 0
                    for j in 0..<cols { dot += Double(pr[j] * dr[j]) }
                    let c = Float(dot)
                    for j in 0..<cols { dr[j] = pr[j] * (dr[j] - c) }
                }
                // dQ = scale·dS·K, dK = scale·dSᵀ·Q
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(nq), Int32(dh), Int32(nk), scale,
                            dp, Int32(nk), k + offK, Int32(d), 0, dq + offQ, Int32(d))
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(nk), Int32(dh), Int32(nq), scale,
                            dp, Int32(nk), q + offQ, Int32(d), 0, dk + offK, Int32(d))
            }
        }
    }
}
