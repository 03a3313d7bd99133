import Foundation
import KDQTestSupport
import Testing
@testable import KDQQuantize
@testable import KDQTensor

/// GPTQ over the ggml block encodings (`CompensatedQuantizer`): its inverse-Hessian factor, its
/// agreement with the paper's column-by-column algorithm, and what it is for — a smaller
/// output error on correlated inputs than rounding each block on its own.
@Suite struct CompensatedQuantizerTests {
    static let rows = 24, columns = 512, samples = 1024

    /// Uniform values in [−0.5, 0.5).
    static func uniform(_ count: Int, _ rng: inout SplitMix64) -> [Float] {
        (0..<count).map { _ in Float(Double(rng.next() >> 11) / Double(1 << 53) - 0.5) }
    }

    /// Inputs whose columns are strongly correlated (each a mix of its neighbours' sources),
    /// as a layer's inputs are, and uncorrelated weights.
    static let problem: (weights: [Float], inputs: [Float]) = {
        var rng = SplitMix64(seed: 2305)
        let sources = uniform(samples * columns, &rng)
        var inputs = [Float](repeating: 0, count: samples * columns)
        for s in 0..<samples {
            for c in 0..<columns {
                var v: Float = 0
                for k in 0..<8 { v += sources[s * columns + (c + k) % columns] * Float(8 - k) }
                inputs[s * columns + c] = v * (c % 7 == 0 ? 3 : 1)
            }
        }
        return (uniform(rows * columns, &rng).map { $0 * 0.1 }, inputs)
    }()

    static func hessian(_ inputs: [Float]) -> [Double] {
        var stats = ActivationStatistics(covariances: true)
        inputs.withUnsafeBufferPointer { stats.add("w", $0, rows: samples) }
        return stats.covariance("w", rowLength: columns)!
    }

    /// Σ over the calibration inputs of ‖(W − Ŵ)x‖².
    static func outputError(_ a: [Float], _ b: [Float], _ inputs: [Float]) -> Double {
        var total = 0.0
        for s in 0..<samples {
            for r in 0..<rows {
                var y = 0.0
                for c in 0..<columns { y += Double(a[r * columns + c] - b[r * columns + c]) * Double(inputs[s * columns + c]) }
                total += y * y
            }
        }
        return total
    }

    @Test func covarianceIsTheMeanInputProduct() throws {
        var stats = ActivationStatistics(covariances: true)
        let x: [Float] = [1, 2, 3, -1, 0, 2]  // two rows of three
        x.withUnsafeBufferPointer { stats.add("w", $0, rows: 2) }
        x.withUnsafeBufferPointer { stats.add("w", UnsafeBufferPointer(rebasing: $0[0..<3]), rows: 1) }
        let h = try #require(stats.covariance("w", rowLength: 3))
        // (xᵀx of both rows + the first row again) / 3 rows
        let expected: [Double] = [3, 4, 4, 4, 8, 12, 4, 12, 22].map { $0 / 3 }
        #expect(h == expected, "\(h)")
        #expect(stats.covariance("w", rowLength: 4) == nil && ActivationStatistics().covariance("w", rowLength: 3) == nil)
    }

    /// The profile's statistics (packed windows) take their covariances from another pass
    /// (one utterance per padded window) and keep their own column weights.
    @Test func covariancesComeFromTheirOwnPass() throws {
        var packed = ActivationStatistics(), single = ActivationStatistics(covariances: true)
        let a: [Float] = [1, 2, 3], b: [Float] = [0, 0, 2]
        a.withUnsafeBufferPointer { packed.add("w", $0, rows: 1) }
        b.withUnsafeBufferPointer { single.add("w", $0, rows: 1) }
        let merged = packed.withCovariances(of: single)
        #expect(!packed.hasCovariances && merged.hasCovariances)
        #expect(merged.covariance("w", rowLength: 3) == [0, 0, 0, 0, 0, 0, 0, 0, 4])
        #expect(merged.importance("w", rowLength: 3) == packed.importance("w", rowLength: 3))
        #expect(merged.covarianceRowCount("w") == 1 && merged.rowCount("w") == 1)
        #expect(TensorQuantizer(blocks: .search, statistics: merged).weighting == .covariance)
        #expect(TensorQuantizer(blocks: .search, statistics: packed).weighting == .activations)
    }

    @Test func factorInvertsTheDampedHessian() throws {
        let n = 64
        let h = Array(Self.hessian(Self.problem.inputs).prefix(n * Self.columns))
        var sub = [Double](repeating: 0, count: n * n)
        for r in 0..<n { for c in 0..<n { sub[r * n + c] = h[r * Self.columns + c] } }
        let u = try #require(CompensatedQuantizer.inverseFactor(sub, n: n))
        var meanDiagonal = 0.0
        for i in 0..<n { meanDiagonal += sub[i * n + i] / Double(n) }
        var worst = 0.0
        for r in 0..<n {
            for c in 0..<n {
                // ((H + λI) · UᵀU)[r][c]
                var v = 0.0
                for k in 0..<n {
                    var inverse = 0.0
                    for m in 0...min(k, c) { inverse += Double(u[m * n + k]) * Double(u[m * n + c]) }
                    v += (sub[r * n + k] + (r == k ? CompensatedQuantizer.damping * meanDiagonal : 0)) * inverse
                }
                worst = max(worst, abs(v - (r == c ? 1 : 0)))
                if c < r { #expect(u[r * n + c] == 0) }
            }
        }
        print("max |(H + λI)·UᵀU − I| = \(worst)")
        #expect(worst < 1e-3)
    }

    @Test func singularOrEmptyHessiansHaveNoFactor() {
        #expect(CompensatedQuantizer.inverseFactor([0, 0, 0, 0], n: 2) == nil)
        #expect(CompensatedQuantizer.inverseFactor([1, 2, 3], n: 2) == nil)
        #expect(CompensatedQuantizer.inverseFactor([.nan, 0, 0, 1], n: 2) == nil)
        // a column that never saw input gets a unit diagonal: still factorable
        #expect(CompensatedQuantizer.inverseFactor([4, 0, 0, 0], n: 2) != nil)
    }

    /// With uncorrelated inputs there is nothing to compensate: every value takes the level
    /// nearest to it on the grid the block encoder chose (which whisper.cpp's own rounding of
    /// q4_0, from the scale before f16 rounding, does not always do), or for k-quants on the
    /// sub-block scale that fits best.
    @Test(arguments: [Encoding.q4_0, .q3_K, .q4_K])
    func diagonalHessianRoundsToTheEncodersGrids(_ e: Encoding) throws {
        let (w, _) = Self.problem
        var identity = [Double](repeating: 0, count: Self.columns * Self.columns)
        for i in 0..<Self.columns { identity[i * Self.columns + i] = 1 }
        let u = try #require(CompensatedQuantizer.inverseFactor(identity, n: Self.columns))
        let encoder = try #require(Tensor.blockEncoder(e, quantizer: .search))
        let compensated = try Tensor(shape: [Self.rows, Self.columns], encoding: e,
                                     data: CompensatedQuantizer.encode(w, rows: Self.rows, columns: Self.columns, to: e, factor: u, importance: nil,
                                                                       encoder: encoder)).decodedFloats()
        var plain = try Tensor(shape: [Self.rows, Self.columns], floats: w).converted(to: e, quantizer: .search).data.array
        let expected: [Float] = plain.withUnsafeMutableBytes { b in
            (0..<w.count).map { i in
                let grid = BlockGrid.grid(e, b.baseAddress! + i / e.blockElements * e.blockBytes, value: i % e.blockElements)
                return grid.value(grid.nearestLevel(w[i]))
            }
        }
        let squaredError = { (values: [Float]) in zip(values, w).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) } }
        if e == .q4_0 {
            #expect(zip(compensated, expected).filter { $0 != $1 }.count == 0)
        } else {
            // a k-quant sub-block's scale code is chosen again, from every code: never worse
            print("\(e.rawValue): squared error \(squaredError(compensated)) with sub-block scales refitted, \(squaredError(expected)) on the encoder's")
            #expect(squaredError(compensated) <= squaredError(expected))
        }
    }

    /// The blocked implementation (block rounding, then one matrix product for the later
    /// columns) against the paper's algorithm written out: every column's error applied to
    /// every later column at once.
    @Test(arguments: [Encoding.q4_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q6_K])
    func matchesTheColumnByColumnAlgorithm(_ e: Encoding) throws {
        let (weights, inputs) = Self.problem
        let n = Self.columns
        let u = try #require(CompensatedQuantizer.inverseFactor(Self.hessian(inputs), n: n))
        let encoder = try #require(Tensor.blockEncoder(e, quantizer: .search))
        let blocked = try Tensor(shape: [Self.rows, n], encoding: e,
                                 data: CompensatedQuantizer.encode(weights, rows: Self.rows, columns: n, to: e, factor: u, importance: nil, encoder: encoder))
            .decodedFloats()
        var reference = [Float](repeating: 0, count: Self.rows * n)
        var block = [UInt8](repeating: 0, count: e.blockBytes)
        for r in 0..<Self.rows {
            var w = Array(weights[(r * n)..<(r * n + n)])
            for j in 0..<n {
                block.withUnsafeMutableBytes { b in
                    if j % e.blockElements == 0 {
                        w.withUnsafeBufferPointer { encoder($0.baseAddress! + j, nil, b.baseAddress!) }
                    } else if j % BlockGrid.scaleGroup(e) == 0 {
                        w.withUnsafeBufferPointer { BlockGrid.refitSubBlock(e, b.baseAddress!, subBlock: j % e.blockElements / BlockGrid.scaleGroup(e), $0.baseAddress! + j, nil) }
                    }
                    let grid = BlockGrid.grid(e, b.baseAddress!, value: j % e.blockElements)
                    let q = grid.value(grid.nearestLevel(w[j]))
                    reference[r * n + j] = q
                    let error = (w[j] - q) / u[j * n + j]
                    for k in (j + 1)..<n { w[k] -= error * u[j * n + k] }
                }
            }
        }
        let differing = zip(blocked, reference).filter { $0 != $1 }.count
        let blockedError = Self.outputError(weights, blocked, inputs), referenceError = Self.outputError(weights, reference, inputs)
        print("\(e.rawValue): \(differing) of \(blocked.count) values differ from the column-by-column algorithm; output error \(blockedError) against \(referenceError)")
        // Sums in another order can move a value across a rounding boundary, and the changed
        // error then moves the row's later values: on a fine grid (q8_0) that happens, on
        // coarse ones almost never. The result is as good either way.
        if e.bitsPerElement < 5 { #expect(Double(differing) <= 0.002 * Double(blocked.count)) }
        #expect(abs(blockedError - referenceError) <= 0.03 * referenceError)
    }

    /// What GPTQ is for: on correlated inputs the layer's output error is well below that of
    /// the same encoder weighting each column by its input's mean square.
    @Test(arguments: [Encoding.q4_0, .q5_0, .q2_K, .q3_K, .q4_K, .q5_K])
    func lowersTheOutputErrorOnCorrelatedInputs(_ e: Encoding) throws {
        let (weights, inputs) = Self.problem
        var stats = ActivationStatistics(covariances: true)
        inputs.withUnsafeBufferPointer { stats.add("w", $0, rows: Self.samples) }
        let t = try Tensor(shape: [Self.rows, Self.columns], floats: weights)
        let compensated = try TensorQuantizer(blocks: .search, statistics: stats).convert("w", t, to: e).decodedFloats()
        let weighted = try t.converted(to: e, quantizer: .search, importance: stats.importance("w", rowLength: Self.columns)).decodedFloats()
        let gptq = Self.outputError(weights, compensated, inputs), diagonal = Self.outputError(weights, weighted, inputs)
        print("\(e.rawValue): output error with GPTQ \(gptq), activation-weighted \(diagonal) (ratio \(gptq / diagonal))")
        #expect(gptq < 0.8 * diagonal)
    }

    /// A convolution is rounded as the matrix of its unfolded kernels: its covariance is over
    /// the unfolded input's columns (channel × tap), as the engine observes them.
    @Test func aConvolutionIsCompensatedAsItsUnfoldedMatrix() throws {
        let (weights, inputs) = Self.problem
        var stats = ActivationStatistics(covariances: true)
        inputs.withUnsafeBufferPointer { stats.add("conv", $0, rows: Self.samples) }
        #expect(Self.columns % 2 == 0)
        let matrix = try Tensor(shape: [Self.rows, Self.columns], floats: weights)
        let conv = try Tensor(shape: [Self.rows, Self.columns / 2, 2], floats: weights)
        let quantizer = TensorQuantizer(blocks: .search, statistics: stats)
        let asMatrix = try quantizer.convert("conv", matrix, to: .q4_0), asConv = try quantizer.convert("conv", conv, to: .q4_0)
        #expect(asConv.shape == [Self.rows, Self.columns / 2, 2] && asConv.data.hasSameBytes(as: asMatrix.data))
        let weighted = try matrix.converted(to: .q4_0, quantizer: .search, importance: stats.importance("conv", rowLength: Self.columns))
        #expect(!asConv.data.hasSameBytes(as: weighted.data), "compensated, not only weighted")
    }

    /// A layer whose calibration inputs had too few rows for its width (the decoder's, which
    /// see a few hundred tokens) keeps the activation-weighted rounding.
    @Test func layersSeenTooRarelyAreNotCompensated() throws {
        let (weights, inputs) = Self.problem
        let seen = CompensatedQuantizer.minimumRowsPerColumn * Self.columns - 1
        var stats = ActivationStatistics(covariances: true)
        inputs.withUnsafeBufferPointer { stats.add("w", UnsafeBufferPointer(rebasing: $0[0..<(seen * Self.columns)]), rows: seen) }
        let t = try Tensor(shape: [Self.rows, Self.columns], floats: weights)
        let quantizer = TensorQuantizer(blocks: .search, statistics: stats)
        #expect(quantizer.weighting == .covariance)
        let plain = try t.converted(to: .q4_0, quantizer: .search, importance: stats.importance("w", rowLength: Self.columns))
        #expect(try quantizer.convert("w", t, to: .q4_0).data.hasSameBytes(as: plain.data))
        inputs.withUnsafeBufferPointer { stats.add("w", UnsafeBufferPointer(rebasing: $0[0..<Self.columns]), rows: 1) }
        #expect(try !TensorQuantizer(blocks: .search, statistics: stats).convert("w", t, to: .q4_0).data.hasSameBytes(as: plain.data))
    }
}
