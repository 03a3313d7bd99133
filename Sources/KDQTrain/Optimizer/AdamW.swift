#if canImport(Glibc)
import Glibc
#endif

/// AdamW (Loshchilov & Hutter; PyTorch's `torch.optim.AdamW`): decoupled weight decay, bias-
/// corrected moments, on the store's f32 master weights.
public struct AdamW: Sendable, Codable, Equatable {
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var weightDecay: Double
    /// Steps taken (bias correction uses it).
    public private(set) var step = 0

    public init(beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// One update at learning rate `lr` from the store's gradients. `decays` says which tensors
    /// take weight decay (PyTorch recipes exempt biases and norms).
    public mutating func update(_ store: ParameterStore, learningRate lr: Double, decays: (String) -> Bool = { _ in true }) {
        step += 1
        let bc1 = 1 - pow(beta1, Double(step)), bc2 = 1 - pow(beta2, Double(step))
        let stepSize = Float(lr / bc1), bc2Root = Float(bc2.squareRoot())
        let b1 = Float(beta1), b2 = Float(beta2), eps = Float(epsilon)
        let (m, v) = store.moments
        let g = store.gradients.baseAddress!
        for e in store.entries {
            guard let offset = e.trainOffset else { continue }
            let p = store.masterValues(e)
            let decay = decays(e.name) ? Float(1 - lr * weightDecay) : 1
            for i in 0..<e.count {
                let j = offset + i, gi = g[j]
                p[i] *= decay
                m[j] = b1 * m[j] + (1 - b1) * gi
                v[j] = b2 * v[j] + (1 - b2) * gi * gi
                p[i] -= stepSize * m[j] / ((v[j].squareRoot() / bc2Root) + eps)
            }
        }
    }

    /// Restores the step count of a checkpointed optimizer.
    public mutating func restore(step: Int) { self.step = step }
}

/// Learning rate over training: linear warm-up from 0, then cosine or linear decay to `floor`.
public struct LearningRateSchedule: Sendable, Codable, Equatable {
    public enum Decay: String, Sendable, Codable, CaseIterable { case cosine, linear, constant }
    public var peak: Double
    public var warmupSteps: Int
    public var totalSteps: Int
    public var decay: Decay
    /// Fraction of the peak at the end.
    public var floor: Double

    public init(peak: Double, warmupSteps: Int = 0, totalSteps: Int, decay: Decay = .cosine, floor: Double = 0) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.decay = decay
        self.floor = floor
    }

    /// The rate of step `step` (0-based).
    public func rate(at step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step + 1) / Double(warmupSteps) }
        let span = max(1, totalSteps - warmupSteps)
        let progress = min(1, Double(step - warmupSteps) / Double(span))
        let shape: Double
        switch decay {
        case .cosine: shape = 0.5 * (1 + cos(Double.pi * progress))
        case .linear: shape = 1 - progress
        case .constant: shape = 1
        }
        return peak * (floor + (1 - floor) * shape)
    }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm` (PyTorch's
/// `clip_grad_norm_`); returns the norm before clipping.
@discardableResult
public func clipGradients(_ store: ParameterStore, maxNorm: Double) -> Double {
    let g = store.gradients
    var sum: Double = 0
    for x in g { sum += Double(x) * Double(x) }
    let norm = sum.squareRoot()
    if maxNorm > 0, norm > maxNorm {
        let s = Float(maxNorm / (norm + 1e-6))
        for i in 0..<g.count { g[i] *= s }
    }
    return norm
}
