@testable import KDQQuantize
@testable import KDQTensor
import Testing

/// The Gram matrices of layer inputs, the damped inverse factor error compensation uses, and
/// error compensation against its definition: each value rounded where the continuous
/// optimum of the row, given the values already rounded, puts it.
struct GramMatricesTests {
    static let n = 48

    /// `rows` inputs of `n` columns with correlated columns (a random mixing of fewer sources).
    static func correlatedInputs(rows: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        let sources = n / 3
        let mixing = (0..<sources * n).map { _ in Float.random(in: -1...1, using: &rng) }
        var x = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows {
            let s = (0..<sources).map { _ in Float.random(in: -1...1, using: &rng) }
            for j in 0..<n {
                var v = Float.random(in: -0.05...0.05, using: &rng)
                for k in 0..<sources { v += s[k] * mixing[k * n + j] }
                x[r * n + j] = v
            }
        }
        return x
    }

    static func grams(_ x: [Float], name: String = "w") -> GramMatrices {
        let g = GramMatrices()
        x.withUnsafeBufferPointer { g.add(name, UnsafeBufferPointer(rebasing: $0[0..<n * 100]), rows: 100) }
        x.withUnsafeBufferPointer { g.add(name, UnsafeBufferPointer(rebasing: $0[n * 100..<$0.count]), rows: $0.count / n - 100) }
        return g
    }

    /// H = XᵀX in Double, full.
    static func gram(_ x: [Float]) -> [Double] {
        var h = [Double](repeating: 0, count: n * n)
        for r in 0..<x.count / n { for i in 0..<n { for j in 0..<n { h[i * n + j] += Double(x[r * n + i]) * Double(x[r * n + j]) } } }
        return h
    }

    /// H + λI with GPTQ's damping.
    static func damped(_ h: [Double]) -> [Double] {
        var a = h
        let lambda = GramMatrices.damping * (0..<n).reduce(0) { $0 + h[$1 * n + $1] } / Double(n)
        for i in 0..<n { a[i * n + i] += lambda }
        return a
    }

    /// Solves A y = b (A symmetric positive definite, small) by Gaussian elimination.
    static func solve(_ a: [Double], _ b: [Double], _ m: Int) -> [Double] {
        var a = a, b = b
        for c in 0..<m {
            for r in c + 1..<m {
                let f = a[r * m + c] / a[c * m + c]
                for k in c..<m { a[r * m + k] -= f * a[c * m + k] }
                b[r] -= f * b[c]
            }
        }
        var y = [Double](repeating: 0, count: m)
        for c in stride(from: m - 1, through: 0, by: -1) {
            var s = b[c]
            for k in c + 1..<m { s -= a[c * m + k] * y[k] }
            y[c] = s / a[c * m + c]
        }
        return y
    }

    @Test func theInverseFactorInvertsTheDampedGramMatrix() throws {
        let x = Self.correlatedInputs(rows: 300, seed: 3)
        let g = Self.grams(x)
        #expect(g.rowCount("w") == 300)
        let u = try #require(try g.inverseFactor("w", columns: Self.n))
        let a = Self.damped(Self.gram(x))
        // (UᵀU)·A = I
        var worst = 0.0
        for i in 0..<Self.n {
            for j in 0..<Self.n {
                var s = 0.0
                for k in 0..<Self.n {
                    var inverse = 0.0
                    for l in 0...min(i, k) { inverse += Double(u[l * Self.n + i]) * Double(u[l * Self.n + k]) }
                    s += inverse * a[k * Self.n + j]
                }
                worst = max(worst, abs(s - (i == j ? 1 : 0)))
            }
        }
        #expect(worst < 1e-3, "max |UᵀU·(H + λI) − I| = \(worst)")
        #expect(try g.inverseFactor("w", columns: Self.n + 1) == nil)
        #expect(try g.inverseFactor("other", columns: Self.n) == nil)
    }

    @Test func inputsOfAnotherWidthAreIgnored() {
        let g = Self.grams(Self.correlatedInputs(rows: 150, seed: 3))
        let wide = [Float](repeating: 1, count: 2 * (Self.n + 2))
        wide.withUnsafeBufferPointer { g.add("w", $0, rows: 2) }
        #expect(g.rowCount("w") == 150)
    }

    @Test func outputErrorIsTheSquaredChangeOfTheOutputs() throws {
        let x = Self.correlatedInputs(rows: 200, seed: 5)
        let g = Self.grams(x)
        var rng = SplitMix64(seed: 9)
        let delta = (0..<3 * Self.n).map { _ in Float.random(in: -0.1...0.1, using: &rng) }
        var direct = 0.0
        for r in 0..<200 {
            for o in 0..<3 {
                var y = 0.0
                for j in 0..<Self.n { y += Double(delta[o * Self.n + j]) * Double(x[r * Self.n + j]) }
                direct += y * y
            }
        }
        let computed = try #require(g.outputError("w", delta: delta, columns: Self.n))
        #expect(abs(computed - direct) <= 1e-4 * direct, "tr(ΔW H ΔWᵀ) \(computed), ‖ΔW Xᵀ‖² \(direct)")
    }

    @Test func compensationRoundsWhereTheConstrainedOptimumLies() throws {
        let x = Self.correlatedInputs(rows: 300, seed: 21)
        let n = Self.n
        let u = try #require(try Self.grams(x).inverseFactor("w", columns: n))
        let a = Self.damped(Self.gram(x))
        var rng = SplitMix64(seed: 4)
        let w0 = (0..<n).map { _ in Float.random(in: -1...1, using: &rng) }
        let grids = (0..<n).map { ValueGrid(step: 0.1 + Float($0 % 3) * 0.05, offset: 0, lowest: -4, highest: 3) }
        var w = w0
        var levels = [Int32](repeating: 0, count: n)
        grids.withUnsafeBufferPointer { gp in
            u.withUnsafeBufferPointer { up in Tensor.compensateRow(&w, n: n, grids: gp.baseAddress!, factor: up.baseAddress!, levels: &levels) }
        }
        // Reference: with columns 0..<j fixed at their rounded values q, the rest minimize
        // (w − w0)ᵀ A (w − w0): w_F = w0_F − A_FF⁻¹ A_FQ (q − w0_Q); column j's value is w_F[0].
        var worst = 0.0
        for j in 1..<n {
            let free = Array(j..<n), fixed = Array(0..<j)
            let aff = free.flatMap { r in free.map { c in a[r * n + c] } }
            let shift = fixed.map { Double(grids[$0].value(levels[$0])) - Double(w0[$0]) }
            let rhs = free.map { r in zip(fixed, shift).reduce(0.0) { $0 + a[r * n + $1.0] * $1.1 } }
            let optimum = Double(w0[j]) - Self.solve(aff, rhs, free.count)[0]
            worst = max(worst, abs(optimum - Double(w[j])))
        }
        #expect(worst < 1e-3, "max |recurrence − constrained optimum| = \(worst)")
        #expect(levels.indices.allSatisfy { levels[$0] == grids[$0].level(w[$0]) })
    }

    @Test(arguments: [Encoding.q4_0, .q3_K, .q2_K])
    func theCompensatedEncodingChangesTheOutputsLess(_ e: Encoding) throws {
        let n = 256
        var rng = SplitMix64(seed: 17)
        let mixing = (0..<32 * n).map { _ in Float.random(in: -1...1, using: &rng) }
        var x = [Float](repeating: 0, count: 400 * n)
        for r in 0..<400 {
            let s = (0..<32).map { _ in Float.random(in: -1...1, using: &rng) }
            for j in 0..<n { x[r * n + j] = (0..<32).reduce(Float.random(in: -0.05...0.05, using: &rng)) { $0 + s[$1] * mixing[$1 * n + j] } }
        }
        let g = GramMatrices()
        var statistics = ActivationStatistics()
        x.withUnsafeBufferPointer {
            g.add("w", $0, rows: 400)
            statistics.add("w", $0, rows: 400)
        }
        let weights = try Tensor(shape: [8, n], floats: (0..<8 * n).map { _ in Float.random(in: -1...1, using: &rng) })
        let source = try weights.decodedFloats()
        func outputError(_ q: TensorQuantizer) throws -> Double {
            let values = try q.convert("w", weights, to: e).decodedFloats()
            return try #require(g.outputError("w", delta: zip(values, source).map { $0 - $1 }, columns: n))
        }
        let searched = try outputError(TensorQuantizer(blocks: .search, statistics: statistics))
        let compensated = try outputError(TensorQuantizer(blocks: .search, statistics: statistics, grams: g))
        #expect(compensated < 0.8 * searched, "\(e.rawValue) output error: searched \(searched), compensated \(compensated)")
        #expect(TensorQuantizer(blocks: .search, statistics: statistics, grams: g).weighting == "compensated")
        #expect(TensorQuantizer(blocks: .nearest, statistics: statistics, grams: g).weighting == "none")
    }

    @Test func renamedMatricesFollowTheirLayers() throws {
        let g = Self.grams(Self.correlatedInputs(rows: 150, seed: 3))
        let renamed = g.renamed { $0 == "w" ? "v" : nil }
        #expect(renamed.rowCount("v") == 150 && renamed.rowCount("w") == 0)
        #expect(try renamed.inverseFactor("v", columns: Self.n) == g.inverseFactor("w", columns: Self.n))
    }
}
