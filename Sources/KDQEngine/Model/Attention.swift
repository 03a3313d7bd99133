import CBLAS
import CKernels
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Multi-head attention of `nq` queries over `nk` keys/values (rows of width `d`, `heads`
/// heads), with an optional causal offset: query i sees keys 0 ... offset + i. `weights`, when
/// given, sees each head's attention weights (`nq × nk`, rows summing to 1). Where the AVX-512
/// kernels are in use, many queries without weights or a causal mask are computed by the fused
/// kernel (`kdq_attend_block`) unless `allowFused` is false; everything else through BLAS.
enum Attention {
    /// Whether the fused many-query kernel runs here (the AVX-512 path is in use).
    static let fusedKernel = kdq_attend_block_available() != 0

    static func attend(q: UnsafePointer<Float>, nq: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>, nk: Int, d: Int, heads: Int,
                       causalOffset: Int?, into out: UnsafeMutablePointer<Float>,
                       weights: ((Int, UnsafePointer<Float>) -> Void)? = nil, allowFused: Bool = true) {
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
        if allowFused, fusedKernel, weights == nil, causalOffset == nil, dh == Int(KDQ_ATTEND_HEAD_WIDTH), nq >= Int(KDQ_ATTEND_BLOCK_ROWS) {
            attendFused(q: q, nq: nq, k: k, v: v, nk: nk, d: d, heads: heads, scale: scale, into: out)
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

    /// Bidirectional attention on the AVX-512 path (`kdq_attend_block`): each head's keys and
    /// values packed once, then blocks of 16 queries, each computing its scores, softmax and weighted values
    /// in the core's cache (the encoder's 1,500 × 1,500 scores per head never reach memory). The
    /// (head, block) items are split into one contiguous run per core, head by head, so that a
    /// core keeps one head's keys and values in its cache; no BLAS threads are woken.
    private static func attendFused(q: UnsafePointer<Float>, nq: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>, nk: Int, d: Int,
                                    heads: Int, scale: Float, into out: UnsafeMutablePointer<Float>) {
        let width = Int(KDQ_ATTEND_HEAD_WIDTH), blockRows = Int(KDQ_ATTEND_BLOCK_ROWS)
        let keyFloats = kdq_attend_packed_keys_floats(Int32(nk)), valueFloats = nk * width
        let packedKeys = UnsafeMutablePointer<Float>.allocate(capacity: heads * keyFloats)
        let packedValues = UnsafeMutablePointer<Float>.allocate(capacity: heads * valueFloats)
        defer {
            packedKeys.deallocate()
            packedValues.deallocate()
        }
        DispatchQueue.concurrentPerform(iterations: heads) { h in
            kdq_attend_pack_keys(k + h * width, Int32(nk), Int32(d), packedKeys + h * keyFloats)
            kdq_attend_pack_values(v + h * width, Int32(nk), Int32(d), packedValues + h * valueFloats)
        }
        let blocks = (nq + blockRows - 1) / blockRows, items = heads * blocks
        let workers = min(items, Kernels.cores), share = (items + workers - 1) / workers
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: kdq_attend_scratch_floats(Int32(nk)))
            defer { scores.deallocate() }
            for item in (w * share)..<min(items, (w + 1) * share) {
                let h = item / blocks, first = (item % blocks) * blockRows
                _ = kdq_attend_block(q + first * d + h * width, Int32(min(blockRows, nq - first)), packedKeys + h * keyFloats,
                                     packedValues + h * valueFloats, Int32(nk), Int32(d), scale, scores, out + first * d + h * width)
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
