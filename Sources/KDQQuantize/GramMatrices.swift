import CBLAS
import KDQTensor

/// The Gram matrix H = Σ x xᵀ of every linear layer's inputs over the calibration windows
/// (the layer's output error for a weight change ΔW is tr(ΔW H ΔWᵀ)), and from it what
/// error-compensating rounding needs: the Cholesky factor of the damped inverse.
public final class GramMatrices: @unchecked Sendable {
    private struct Sum {
        var columns: Int
        var rows: Int
        /// Row-major n × n, the upper triangle filled.
        var upper: [Float]
    }

    private var sums: [String: Sum] = [:]
    private var factors: [String: [Float]] = [:]
    private let lock = NSLockLite()

    /// Added to H's diagonal before it is inverted, as a fraction of its mean diagonal (GPTQ's 1%).
    public static let damping = 0.01

    public init() {}

    /// Adds `count` rows of a linear layer's input (`input.count / count` columns each); rows
    /// of another width than the layer's first ones are ignored.
    public func add(_ weight: String, _ input: UnsafeBufferPointer<Float>, rows count: Int) {
        guard count > 0, input.count % count == 0, let x = input.baseAddress else { return }
        let n = input.count / count
        lock.withLock {
            var sum = sums.removeValue(forKey: weight) ?? Sum(columns: n, rows: 0, upper: [Float](repeating: 0, count: n * n))
            defer { sums[weight] = sum }
            guard sum.columns == n else { return }
            sum.upper.withUnsafeMutableBufferPointer { c in
                cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(count), 1, x, Int32(n), 1, c.baseAddress, Int32(n))
            }
            sum.rows += count
            factors[weight] = nil
        }
    }

    /// Input rows seen by `weight`.
    public func rowCount(_ weight: String) -> Int { lock.withLock { sums[weight]?.rows ?? 0 } }

    /// The row-major upper Cholesky factor U of (H + λI)⁻¹ = UᵀU for `weight`'s inputs when
    /// they are `columns` wide (λ = `damping` × H's mean diagonal; a column the audio never
    /// drove gets a diagonal of 1, as in GPTQ); nil when the layer was not observed with that
    /// width. Computed once per layer.
    public func inverseFactor(_ weight: String, columns: Int) throws -> [Float]? {
        let (cached, sum) = lock.withLock { (factors[weight], sums[weight]) }
        if let cached, cached.count == columns * columns { return cached }
        guard let sum, sum.columns == columns, sum.rows > 0 else { return nil }
        let factor = try Self.inverseFactor(sum.upper, n: columns, weight: weight)
        lock.withLock { factors[weight] = factor }
        return factor
    }

    /// tr(ΔW H ΔWᵀ): the summed squared change of `weight`'s outputs over the calibration
    /// inputs when its values change by `delta` (rows × n, row-major); nil when the layer was
    /// not observed with rows of n.
    public func outputError(_ weight: String, delta: [Float], columns n: Int) -> Double? {
        guard n > 0, delta.count % n == 0, let sum = lock.withLock({ sums[weight] }), sum.columns == n else { return nil }
        let rows = delta.count / n
        var product = [Float](repeating: 0, count: delta.count)
        sum.upper.withUnsafeBufferPointer { h in
            delta.withUnsafeBufferPointer { d in
                product.withUnsafeMutableBufferPointer { p in
                    cblas_ssymm(CblasRowMajor, CblasRight, CblasUpper, Int32(rows), Int32(n), 1, h.baseAddress, Int32(n),
                                d.baseAddress, Int32(n), 0, p.baseAddress, Int32(n))
                }
            }
        }
        var total = 0.0
        for i in 0..<delta.count { total += Double(product[i]) * Double(delta[i]) }
        return total
    }

    /// The same matrices under other names: `rename` gives each weight's new name, or nil to
    /// leave it out (a teacher's matrices for a student that renumbers its blocks).
    public func renamed(_ rename: (String) -> String?) -> GramMatrices {
        let out = GramMatrices()
        lock.withLock {
            for (name, sum) in sums {
                guard let new = rename(name) else { continue }
                out.sums[new] = sum
                if let f = factors[name] { out.factors[new] = f }
            }
        }
        return out
    }

    /// U with (H + λI)⁻¹ = UᵀU for the row-major upper triangle `upper` of H (n × n), through
    /// LAPACK (Cholesky of H + λI, its inverse, Cholesky of that); λ grows tenfold while H + λI
    /// is not numerically positive definite.
    static func inverseFactor(_ upper: [Float], n: Int, weight: String) throws -> [Float] {
        // Column-major in LAPACK's terms; H is symmetric, so only the indexing of the result matters.
        var h = [Double](repeating: 0, count: n * n)
        var meanDiagonal = 0.0
        for i in 0..<n {
            for j in i..<n {
                let v = Double(upper[i * n + j])
                h[i + j * n] = v
                h[j + i * n] = v
            }
            meanDiagonal += h[i * n + i] / Double(n)
        }
        for i in 0..<n where !(h[i * n + i] > 0) { h[i * n + i] = 1 }
        var lambda = damping * (meanDiagonal > 0 ? meanDiagonal : 1)
        for _ in 0..<6 {
            var a = h
            for i in 0..<n { a[i * n + i] += lambda }
            if cholesky(&a, n), invertFromCholesky(&a, n), cholesky(&a, n) {
                var u = [Float](repeating: 0, count: n * n)
                for i in 0..<n { for j in i..<n { u[i * n + j] = Float(a[i + j * n]) } }
                return u
            }
            lambda *= 10
        }
        throw QuantizeError("the Gram matrix of its calibration inputs (\(n) × \(n)) stays singular with damping up to \(lambda / 10)", tensor: weight)
    }

    /// LAPACK dpotrf on the upper triangle of column-major `a`; false unless it succeeded.
    private static func cholesky(_ a: inout [Double], _ n: Int) -> Bool {
        var size = Int32(n), lda = Int32(n), info: Int32 = 0
        a.withUnsafeMutableBufferPointer { p in dpotrf_("U", &size, p.baseAddress, &lda, &info, 1) }
        return info == 0
    }

    /// LAPACK dpotri: the inverse (upper triangle) from the Cholesky factor in `a`.
    private static func invertFromCholesky(_ a: inout [Double], _ n: Int) -> Bool {
        var size = Int32(n), lda = Int32(n), info: Int32 = 0
        a.withUnsafeMutableBufferPointer { p in dpotri_("U", &size, p.baseAddress, &lda, &info, 1) }
        return info == 0
    }
}
