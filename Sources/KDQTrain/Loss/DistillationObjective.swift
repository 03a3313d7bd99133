/// The paper's objective (arXiv 2305.10788): (1 − α)·CE + α·(KL + β·hidden), with the KL taken
/// between temperature-T distributions and scaled by T². Without a teacher the loss is CE alone.
public struct DistillationObjective: Sendable, Equatable, Codable {
    /// Weight of the teacher terms (paper: 0.9).
    public var alpha: Double
    /// Weight of the hidden-state term inside the teacher terms.
    public var beta: Double
    /// Softmax temperature of the KL term (paper: 1).
    public var temperature: Double
    /// Divides the hidden-state MSE by the teacher state's mean square (scale-free).
    public var normalizeHidden: Bool

    public init(alpha: Double = 0.9, beta: Double = 0, temperature: Double = 1, normalizeHidden: Bool = false) {
        self.alpha = alpha
        self.beta = beta
        self.temperature = temperature
        self.normalizeHidden = normalizeHidden
    }
}

/// The loss components of one batch.
public struct LossComponents: Sendable, Equatable {
    /// Mean cross-entropy per target position.
    public var crossEntropy: Double = 0
    /// Mean KL(teacher ‖ student) per target position, times T².
    public var kl: Double = 0
    /// Hidden-state loss (mean over pairs of layers).
    public var hidden: Double = 0
    /// Positions with a target.
    public var positions: Int = 0
    /// The weighted total that is minimized.
    public var total: Double = 0

    public init() {}
}
