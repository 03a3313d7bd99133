import CBLAS
import Dispatch
import KDQTensor

/// GPTQ (Frantar et al., 2022, "GPTQ: Accurate Post-Training Quantization for Generative
/// Pre-trained Transformers") over kdq's ggml block encodings. A linear layer's output error
/// on its calibration inputs X is ‖(W − Ŵ)Xᵀ‖², whose curvature in each row of W is H = XᵀX.
/// Columns are rounded one at a time, left to right; each column's rounding error, divided by
/// the pivot of the inverse Hessian's Cholesky factor, is subtracted from the columns not yet
/// rounded in proportion to that factor's row — the optimal correction of the rest for the
/// error just made (optimal brain surgeon). Each block's scales are chosen (by the block
/// encoder, weighted by H's diagonal) when the block is reached, from the weights as corrected
/// so far, and a k-quant sub-block's coded scale again when the sub-block is reached; its
/// values then take the level of their grid nearest to their corrected value.
/// The bytes are ordinary ggml blocks: only which levels they hold differs.
public enum CompensatedQuantizer {
    /// The relative damping added to H's diagonal (GPTQ's default: 1% of its mean).
    public static let damping = 0.01

    /// A layer is compensated only when its calibration inputs had at least this many rows per
    /// input column. Below that, H describes the calibration audio rather than the layer's
    /// inputs in general, and the correction fits the calibration set: compensating the
    /// decoder's layers, which see only the calibration windows' few hundred tokens, made the
    /// dev set worse (docs/quantization.md), while the encoder's, which see 1,500 frames a
    /// window, made it better. The decoder gets its rows from `DecoderCalibration`.
    public static let minimumRowsPerColumn = 2

    /// The upper Cholesky factor U of (H + λ·mean(diag H)·I)⁻¹ = UᵀU, row-major `n × n`, where
    /// `h` is the symmetric `n × n` Hessian (row-major; a column that never saw input gets a
    /// unit diagonal). Damping grows tenfold, up to three times, while the matrix is not
    /// positive definite; nil if it never is.
    public static func inverseFactor(_ h: [Double], n: Int) -> [Float]? {
        guard n > 0, h.count == n * n else { return nil }
        var meanDiagonal = 0.0
        for i in 0..<n { meanDiagonal += h[i * n + i] }
        meanDiagonal /= Double(n)
        guard meanDiagonal > 0, meanDiagonal.isFinite else { return nil }
        var lambda = damping * meanDiagonal
        for _ in 0..<4 {
            var a = h
            for i in 0..<n { a[i * n + i] = (a[i * n + i] > 0 ? a[i * n + i] : 1) + lambda }
            if let u = inverseCholesky(&a, n: n) { return u }
            lambda *= 10
        }
        return nil
    }

    /// U with A⁻¹ = UᵀU for the symmetric positive definite `a` (destroyed), or nil. LAPACK
    /// sees the row-major matrix as column-major, i.e. transposed: its lower triangle is our
    /// upper one.
    static func inverseCholesky(_ a: inout [Double], n: Int) -> [Float]? {
        var lower = CChar(UInt8(ascii: "L")), size = blasint(n), lda = blasint(n), info: blasint = 0
        dpotrf_(&lower, &size, &a, &lda, &info)
        guard info == 0 else { return nil }
        dpotri_(&lower, &size, &a, &lda, &info)
        guard info == 0 else { return nil }
        for r in 0..<n { for c in 0..<r { a[r * n + c] = a[c * n + r] } }
        dpotrf_(&lower, &size, &a, &lda, &info)
        guard info == 0 else { return nil }
        var u = [Float](repeating: 0, count: n * n)
        for r in 0..<n { for c in r..<n { u[r * n + c] = Float(a[r * n + c]) } }
        guard u.allSatisfy(\.isFinite) else { return nil }
        return u
    }

    /// `weights` (`rows × columns`, row-major) in `target`, a `BlockGrid` encoding whose blocks
    /// tile the rows, rounded column by column with `factor` (`inverseFactor` of the layer's
    /// input Hessian); `encoder` chooses each block's scales, its error weighted by `importance`
    /// (one per column) when given. Returns the encoded bytes.
    public static func encode(_ weights: [Float], rows: Int, columns: Int, to target: Encoding, factor: [Float],
                              importance: [Float]?, encoder: WeightedBlockEncoder) -> Storage {
        let b = target.blockElements, blockBytes = target.blockBytes, perRow = columns / b
        var w = weights
        var errors = [Float](repeating: 0, count: rows * b)
        let chunks = Swift.min(rows, 16)
        return Storage(count: rows * perRow * blockBytes) { out in
            guard let base = out.baseAddress else { return }
            w.withUnsafeMutableBufferPointer { wp in
                errors.withUnsafeMutableBufferPointer { ep in
                    factor.withUnsafeBufferPointer { up in
                        withPointer(importance) { importance in
                            let w = wp.baseAddress!, e = ep.baseAddress!, u = up.baseAddress!
                            for start in stride(from: 0, to: columns, by: b) {
                                DispatchQueue.concurrentPerform(iterations: chunks) { c in
                                    for r in (rows * c / chunks)..<(rows * (c + 1) / chunks) {
                                        roundBlock(w + r * columns, start: start, width: b, columns: columns, errors: e + r * b,
                                                   block: base + (r * perRow + start / b) * blockBytes, target: target, factor: u,
                                                   importance: importance, encoder: encoder)
                                    }
                                }
                                // The rest of every row takes the block's errors: W[:, after] −= E · U[block, after].
                                let after = start + b
                                if after < columns {
                                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(columns - after), Int32(b),
                                                -1, e, Int32(b), u + start * columns + after, Int32(columns), 1, w + after, Int32(columns))
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `body` with a pointer to `values`' elements, or nil.
    static func withPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let values else { return body(nil) }
        return values.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    /// Encodes the block of one row starting at column `start`, then rounds its values one at
    /// a time on the block's grids, each value's scaled error (into `errors`) corrected in the
    /// block's later values; `importance` holds one weight per column of the row.
    static func roundBlock(_ row: UnsafeMutablePointer<Float>, start: Int, width b: Int, columns: Int, errors: UnsafeMutablePointer<Float>,
                           block: UnsafeMutableRawPointer, target: Encoding, factor u: UnsafePointer<Float>,
                           importance: UnsafePointer<Float>?, encoder: WeightedBlockEncoder) {
        encoder(row + start, importance.map { $0 + start }, block)
        let group = BlockGrid.scaleGroup(target)
        for j in 0..<b {
            let column = start + j
            if j > 0, j % group == 0 {
                // A k-quant sub-block's scale is chosen when it is reached, from its corrected
                // values (as GPTQ fits each group's scale), on the super-block's scales.
                BlockGrid.refitSubBlock(target, block, subBlock: j / group, row + column, importance.map { $0 + column })
            }
            let grid = BlockGrid.grid(target, block, value: j)
            let level = grid.nearestLevel(row[column])
            BlockGrid.setLevel(target, block, value: j, level)
            let pivot = u[column * columns + column]
            let error = pivot > 0 ? (row[column] - grid.value(level)) / pivot : 0
            errors[j] = error
            guard error != 0, error.isFinite else { errors[j] = 0; continue }
            let uRow = u + column * columns
            for k in (column + 1)..<(start + b) { row[k] -= error * uRow[k] }
        }
    }
}
