import Dispatch

/// Error-compensating rounding (GPTQ, Frantar et al. 2022, arXiv 2210.17323) onto fixed block
/// scales: the values of each row are rounded one column after another, and each rounding's
/// error is spread over the row's later columns so that the layer's output on the calibration
/// inputs changes as little as possible — the error E‖ΔW·x‖² with E[x xᵀ] = H, not the
/// weight error. With `U` the upper Cholesky factor of H⁻¹ (H⁻¹ = UᵀU), column j's error
/// e = (w_j − ŵ_j) / U_jj moves every later column k by −e·U_jk.
extension Tensor {
    /// This tensor in `target`, each value's level chosen by error compensation on the grid of
    /// `scaled` (this tensor already in `target`, whose block scales are kept — for example the
    /// activation-weighted search encoding), given `inverseFactor`, the row-major n × n upper
    /// Cholesky factor of the inverse of the (damped) Gram matrix of the layer's inputs, n the
    /// row length. With a diagonal Gram matrix this is rounding to the nearest level of `scaled`'s grid.
    public func compensated(to target: Encoding, scaled: Tensor, inverseFactor: [Float]) throws -> Tensor {
        let n = shape.last ?? 1
        guard target.isGGMLBlock, n > 0, n % target.blockElements == 0 else {
            throw TensorError(.unsupportedEncoding, "error compensation needs a ggml block encoding whose blocks tile rows of \(n), not \(target.rawValue)")
        }
        guard scaled.encoding == target, scaled.shape == shape else {
            throw TensorError(.sizeMismatch, "the scales come from a \(scaled.encoding.rawValue) tensor of shape \(scaled.shape), expected \(target.rawValue) \(shape)")
        }
        guard inverseFactor.count == n * n else {
            throw TensorError(.sizeMismatch, "inverse factor has \(inverseFactor.count) values, expected \(n) × \(n)")
        }
        let values = try decodedFloats()
        let rows = elementCount / n, blocksPerRow = n / target.blockElements, blockBytes = target.blockBytes
        let chunk = Swift.max(1, Swift.min(64, rows / 16))
        let data = Storage(count: scaled.data.count) { out in
            guard let base = out.baseAddress, let source = scaled.data.bytes.baseAddress else { return }
            base.copyMemory(from: source, byteCount: scaled.data.count)
            values.withUnsafeBufferPointer { v in
                inverseFactor.withUnsafeBufferPointer { u in
                    DispatchQueue.concurrentPerform(iterations: (rows + chunk - 1) / chunk) { c in
                        let w = UnsafeMutablePointer<Float>.allocate(capacity: n)
                        let grids = UnsafeMutablePointer<ValueGrid>.allocate(capacity: n)
                        let levels = UnsafeMutablePointer<Int32>.allocate(capacity: n)
                        defer { w.deallocate(); grids.deallocate(); levels.deallocate() }
                        for r in c * chunk..<Swift.min(rows, (c + 1) * chunk) {
                            w.update(from: v.baseAddress! + r * n, count: n)
                            let row = base + r * blocksPerRow * blockBytes
                            for b in 0..<blocksPerRow {
                                _ = BlockGrids.grids(target, row + b * blockBytes, grids + b * target.blockElements)
                            }
                            Self.compensateRow(w, n: n, grids: grids, factor: u.baseAddress!, levels: levels)
                            for b in 0..<blocksPerRow {
                                BlockGrids.write(target, levels: levels + b * target.blockElements, into: row + b * blockBytes)
                            }
                        }
                    }
                }
            }
        }
        return try Tensor(shape: shape, encoding: target, data: data)
    }

    /// Rounds the row `w` (overwritten by its compensated values) column by column onto
    /// `grids`, writing the levels.
    static func compensateRow(_ w: UnsafeMutablePointer<Float>, n: Int, grids: UnsafePointer<ValueGrid>,
                              factor u: UnsafePointer<Float>, levels: UnsafeMutablePointer<Int32>) {
        for j in 0..<n {
            let q = grids[j].level(w[j])
            levels[j] = q
            let diagonal = u[j * n + j]
            let e = (w[j] - grids[j].value(q)) / diagonal
            guard e != 0, e.isFinite else { continue }
            let uj = u + j * n
            for k in j + 1..<n { w[k] -= e * uj[k] }
        }
    }
}
