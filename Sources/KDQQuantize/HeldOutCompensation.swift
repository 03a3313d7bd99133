import KDQTensor

/// Error compensation that has to prove itself on audio it was not fitted to. The calibration
/// windows are dealt alternately into two halves; a tensor's compensated rounding is fitted on
/// the first half's Gram matrices and compared with the search encoding on the second half's:
/// only where it changes the held-out outputs less is it used, then fitted on both halves.
/// (Fitted and judged on the same inputs it always wins, and on layers that see few inputs —
/// the decoder's, a few hundred tokens against 512 or 2,048 columns — it learns those inputs
/// rather than the layer.)
public final class HeldOutCompensation: @unchecked Sendable {
    /// The Gram matrices of the even windows (fit) and the odd ones (check).
    public let fit: GramMatrices, check: GramMatrices
    private var factors: [String: [Float]] = [:]
    private let lock = NSLockLite()

    public init() {
        fit = GramMatrices()
        check = GramMatrices()
    }

    /// The matrices window `index` adds to.
    public func matrices(window index: Int) -> GramMatrices { index % 2 == 0 ? fit : check }

    /// `tensor` (named `name`) in `target`: the compensated rounding on `searched`'s scales when
    /// it passes the held-out check, else `searched` (also when either half lacks the layer).
    func convert(_ name: String, _ tensor: Tensor, to target: Encoding, searched: Tensor) throws -> Tensor {
        let n = tensor.shape.last ?? 0
        guard target.isGGMLBlock, let factor = try fit.inverseFactor(name, columns: n) else { return searched }
        let source = try tensor.decodedFloats()
        func heldOutError(_ t: Tensor) throws -> Double? {
            check.outputError(name, delta: zip(try t.decodedFloats(), source).map { $0 - $1 }, columns: n)
        }
        let trial = try tensor.compensated(to: target, scaled: searched, inverseFactor: factor)
        guard let a = try heldOutError(trial), let b = try heldOutError(searched), a < b,
              let both = try bothHalvesFactor(name, columns: n) else { return searched }
        return try tensor.compensated(to: target, scaled: searched, inverseFactor: both)
    }

    /// The factor of both halves' matrices, computed once per layer.
    private func bothHalvesFactor(_ name: String, columns: Int) throws -> [Float]? {
        if let cached = lock.withLock({ factors[name] }), cached.count == columns * columns { return cached }
        guard let factor = try fit.inverseFactor(name, columns: columns, adding: check) else { return nil }
        lock.withLock { factors[name] = factor }
        return factor
    }

    /// The same data under other names (see `GramMatrices.renamed`).
    public func renamed(_ rename: (String) -> String?) -> HeldOutCompensation {
        HeldOutCompensation(fit: fit.renamed(rename), check: check.renamed(rename))
    }

    private init(fit: GramMatrices, check: GramMatrices) {
        self.fit = fit
        self.check = check
    }
}
