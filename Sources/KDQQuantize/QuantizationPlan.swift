import KDQFormats
import KDQTensor

/// The encoding chosen for every tensor of a model, and why.
public struct QuantizationPlan: Sendable {
    public enum Method: String, Sendable { case guided, uniform }

    public struct Choice: Sendable {
        public let tensor: String
        public let source: Encoding
        public let chosen: Encoding
        public let bytes: Int
        /// True when a keep rule fixed it.
        public let pinned: Bool
    }

    public let method: Method
    /// Every tensor, in checkpoint order.
    public let choices: [Choice]
    /// The byte budget the guided allocation met (nil for uniform plans).
    public let budgetBytes: Int?
    public let budget: SizeBudget?
    /// Tensor bytes before the plan.
    public let sourceBytes: Int
    /// Σ of the chosen alternatives' measured mean KL (nil without a profile).
    public let predictedKL: Double?

    /// Tensor bytes after the plan.
    public var tensorBytes: Int { choices.reduce(0) { $0 + $1.bytes } }
    /// Elements over all tensors.
    public let elements: Int
    /// Average bits per weight after the plan.
    public var bitsPerWeight: Double { elements == 0 ? 0 : Double(tensorBytes) * 8 / Double(elements) }

    /// Re-encodes `checkpoint`'s tensors as the plan chose (ggml blocks by `quantizer`);
    /// returns the conversions made.
    public func apply(to checkpoint: inout Checkpoint, quantizer: TensorQuantizer) throws -> [(tensor: String, from: Encoding, to: Encoding)] {
        let targets = Dictionary(uniqueKeysWithValues: choices.filter { $0.chosen != $0.source }.map { ($0.tensor, $0.chosen) })
        return try checkpoint.convertTensors({ name, _ in targets[name] }, using: quantizer.convert)
    }

    /// How many tensors take each encoding.
    public var histogram: [(encoding: Encoding, tensors: Int, bytes: Int)] {
        var counts: [Encoding: (Int, Int)] = [:]
        for c in choices { counts[c.chosen, default: (0, 0)].0 += 1; counts[c.chosen, default: (0, 0)].1 += c.bytes }
        return counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value.0, $0.value.1) }
    }

    init(method: Method, choices: [Choice], budgetBytes: Int?, budget: SizeBudget?, sourceBytes: Int, predictedKL: Double?, elements: Int) {
        self.method = method
        self.choices = choices
        self.budgetBytes = budgetBytes
        self.budget = budget
        self.sourceBytes = sourceBytes
        self.predictedKL = predictedKL
        self.elements = elements
    }
}
