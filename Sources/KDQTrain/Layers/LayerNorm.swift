import KDQEngine

/// Layer norm over rows of width n (eps 1e-5), keeping each row's mean and 1/σ for the backward.
enum LayerNorm {
    /// y = (x − μ)/σ · γ + β per row (the engine's kernel); `mean` and `rstd` receive μ and 1/σ.
    static func forward(_ x: UnsafePointer<Float>, _ rows: Int, _ n: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                        into y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>) {
        Kernels.layerNorm(x, rows, n, gamma, beta, into: y, mean: mean, rstd: rstd)
    }

    /// dx (+)= the gradient through the norm; dγ += Σ dy·x̂, dβ += Σ dy (nil when frozen).
    static func backward(_ dy: UnsafePointer<Float>, x: UnsafePointer<Float>, _ rows: Int, _ n: Int, gamma: UnsafePointer<Float>,
                         mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, accumulate: Bool,
                         dGamma: UnsafeMutablePointer<Float>?, dBeta: UnsafeMutablePointer<Float>?) {
        Kernels.parallelRows(rows) { r in
            let xr = x + r * n, dyr = dy + r * n, dxr = dx + r * n
            let mu = mean[r], inv = rstd[r]
            var sumG: Double = 0, sumGX: Double = 0
            for i in 0..<n {
                let g = Double(dyr[i] * gamma[i])
                sumG += g
                sumGX += g * Double((xr[i] - mu) * inv)
            }
            let meanG = Float(sumG / Double(n)), meanGX = Float(sumGX / Double(n))
            for i in 0..<n {
                let xhat = (xr[i] - mu) * inv
                let v = inv * (dyr[i] * gamma[i] - meanG - xhat * meanGX)
                dxr[i] = accumulate ? dxr[i] + v : v
            }
        }
        guard dGamma != nil || dBeta != nil else { return }
        let sg = UnsafeMutablePointer<Double>.allocate(capacity: 2 * n)
        defer { sg.deallocate() }
        sg.initialize(repeating: 0, count: 2 * n)
        for r in 0..<rows {
            let xr = x + r * n, dyr = dy + r * n
            let mu = mean[r], inv = rstd[r]
            for i in 0..<n {
                sg[i] += Double(dyr[i] * (xr[i] - mu) * inv)
                sg[n + i] += Double(dyr[i])
            }
        }
        if let dGamma { for i in 0..<n { dGamma[i] += Float(sg[i]) } }
        if let dBeta { for i in 0..<n { dBeta[i] += Float(sg[n + i]) } }
    }
}
