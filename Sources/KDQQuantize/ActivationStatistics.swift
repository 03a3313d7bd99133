import CBLAS
import KDQEngine

/// The mean square of every input column of every linear layer over the calibration windows:
/// with it, a weight's quantization error counts as much as it changes the layer's output
/// (E‖ΔW·x‖² = Σⱼ ‖ΔW[:, j]‖² · E[xⱼ²] when the inputs' columns are uncorrelated), so an
/// error-minimizing quantizer spends its precision on the columns the audio actually drives.
///
/// With `covariances`, the whole second moment XᵀX of each layer's input is kept as well: the
/// Hessian of the layer's output error that `CompensatedQuantizer` (GPTQ) rounds with.
public struct ActivationStatistics: Sendable {
    private var squares: [String: [Double]] = [:]
    private var rows: [String: Int] = [:]
    /// Σ xᵀx per layer (row-major, the upper triangle filled), when kept, and its rows.
    private var products: [String: [Double]] = [:]
    private var productRows: [String: Int] = [:]
    /// Whether `add` keeps each layer's input second moment (its columns squared).
    public let keepsCovariances: Bool

    public init(covariances: Bool = false) { keepsCovariances = covariances }

    /// Whether any layer's covariance was kept.
    public var hasCovariances: Bool { !products.isEmpty }

    /// Adds `count` rows of a linear layer's input (`input.count / count` columns each); rows
    /// of another width than the layer's first ones are ignored.
    public mutating func add(_ weight: String, _ input: UnsafeBufferPointer<Float>, rows count: Int) {
        guard count > 0, input.count % count == 0 else { return }
        let columns = input.count / count
        let added: Bool = squares[weight, default: [Double](repeating: 0, count: columns)].withUnsafeMutableBufferPointer { s in
            guard s.count == columns else { return false }
            for r in 0..<count {
                let row = input.baseAddress! + r * columns
                for j in 0..<columns { s[j] += Double(row[j] * row[j]) }
            }
            return true
        }
        guard added else { return }
        rows[weight, default: 0] += count
        if keepsCovariances {
            addProducts(weight, input, rows: count, columns: columns)
            productRows[weight, default: 0] += count
        }
    }

    /// These statistics with the covariances of `other` (observed on other windows) in place
    /// of their own.
    public func withCovariances(of other: ActivationStatistics) -> ActivationStatistics {
        var out = self
        out.products = other.products
        out.productRows = other.productRows
        return out
    }

    /// Input rows behind `weight`'s covariance.
    public func covarianceRowCount(_ weight: String) -> Int { productRows[weight] ?? 0 }

    /// Adds XᵀX of the `count × columns` input to the layer's sum (upper triangle, by BLAS in
    /// f32 per call, summed in f64 across calls).
    private mutating func addProducts(_ weight: String, _ input: UnsafeBufferPointer<Float>, rows count: Int, columns: Int) {
        var gram = [Float](repeating: 0, count: columns * columns)
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(columns), Int32(count), 1, input.baseAddress, Int32(columns), 0, &gram, Int32(columns))
        products[weight, default: [Double](repeating: 0, count: columns * columns)].withUnsafeMutableBufferPointer { sum in
            for r in 0..<columns { for c in r..<columns { sum[r * columns + c] += Double(gram[r * columns + c]) } }
        }
    }

    /// The mean of xᵀx over `weight`'s input rows (`rowLength × rowLength`, row-major,
    /// symmetric) when covariances were kept and the layer was observed with that width.
    public func covariance(_ weight: String, rowLength: Int) -> [Double]? {
        guard let sum = products[weight], sum.count == rowLength * rowLength, let n = productRows[weight], n > 0 else { return nil }
        var h = [Double](repeating: 0, count: sum.count)
        let scale = 1 / Double(n)
        for r in 0..<rowLength {
            for c in r..<rowLength {
                h[r * rowLength + c] = sum[r * rowLength + c] * scale
                h[c * rowLength + r] = h[r * rowLength + c]
            }
        }
        return h
    }

    /// Input rows seen by `weight`.
    public func rowCount(_ weight: String) -> Int { rows[weight] ?? 0 }

    /// The per-column importance of `weight`'s quantization error — the mean square of each
    /// input column, floored at a millionth of their mean so that no column is ignored — when
    /// its rows are `rowLength` wide; nil when the layer was not observed with that width
    /// (a convolution's kernel rows, a tensor that is no linear layer).
    public func importance(_ weight: String, rowLength: Int) -> [Float]? {
        guard let sums = squares[weight], sums.count == rowLength, let n = rows[weight], n > 0 else { return nil }
        let means = sums.map { $0 / Double(n) }
        let floor = max(means.reduce(0, +) / Double(means.count) * 1e-6, Double.leastNormalMagnitude)
        return means.map { Float(max($0, floor)) }
    }

    /// The same statistics under other names: `rename` gives each weight's new name, or nil
    /// to leave it out (a teacher's statistics for a student that renumbers its blocks).
    public func renamed(_ rename: (String) -> String?) -> ActivationStatistics {
        var out = ActivationStatistics(covariances: keepsCovariances)
        for (name, sums) in squares {
            guard let new = rename(name) else { continue }
            out.squares[new] = sums
            out.rows[new] = rows[name]
            out.products[new] = products[name]
            out.productRows[new] = productRows[name]
        }
        return out
    }
}
