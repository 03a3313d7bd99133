import KDQTensor

/// How the search quantizer weights a tensor's error: not at all, per input column by the
/// calibration activations' mean square (the layer's inputs taken as uncorrelated), or by the
/// whole Gram matrix of the inputs with each rounding's error compensated in the columns
/// after it (GPTQ, on the scales the activation-weighted search chose).
public enum ErrorWeighting: String, Sendable, CaseIterable {
    case none, activations, compensated
}

/// How a plan's tensors are encoded: ggml blocks by `blocks`, and with the search quantizer
/// each column's error weighted by the calibration activations when `statistics` is given,
/// each value's rounding compensated through the inputs' Gram matrices when `grams` is.
public struct TensorQuantizer: Sendable {
    /// Round to nearest (whisper.cpp's bytes) or error-minimizing search.
    public let blocks: BlockQuantizer
    /// The calibration inputs of every linear layer; nil for unweighted error.
    public let statistics: ActivationStatistics?
    /// The Gram matrices of the calibration inputs; nil without error compensation.
    public let grams: GramMatrices?

    public init(blocks: BlockQuantizer, statistics: ActivationStatistics? = nil, grams: GramMatrices? = nil) {
        self.blocks = blocks
        self.statistics = blocks == .search ? statistics : nil
        self.grams = blocks == .search ? grams : nil
    }

    /// The weighting recorded in the archive: `none`, `activations` or `compensated`.
    public var weighting: String {
        (grams != nil ? ErrorWeighting.compensated : statistics != nil ? .activations : .none).rawValue
    }

    /// The column weights for tensor `name` (nil when unweighted or not a linear layer).
    public func importance(_ name: String, _ tensor: Tensor) -> [Float]? {
        statistics?.importance(name, rowLength: tensor.shape.last ?? 0)
    }

    /// `tensor` (named `name`) in `target`. With Gram matrices, a ggml block target of a linear
    /// layer takes the error-compensated rounding on the searched scales when that changes the
    /// layer's calibration outputs less than the search alone (it nearly always does).
    public func convert(_ name: String, _ tensor: Tensor, to target: Encoding) throws -> Tensor {
        let searched = try tensor.converted(to: target, quantizer: blocks, importance: importance(name, tensor))
        let n = tensor.shape.last ?? 0
        guard target.isGGMLBlock, target != tensor.encoding, let grams, let factor = try grams.inverseFactor(name, columns: n) else { return searched }
        let compensated = try tensor.compensated(to: target, scaled: searched, inverseFactor: factor)
        let source = try tensor.decodedFloats()
        func error(_ t: Tensor) throws -> Double? {
            let values = try t.decodedFloats()
            return grams.outputError(name, delta: zip(values, source).map { $0 - $1 }, columns: n)
        }
        guard let a = try error(compensated), let b = try error(searched), a < b else { return searched }
        return compensated
    }

    /// The same quantizer for a model whose tensors are named otherwise (see
    /// `ActivationStatistics.renamed`).
    public func renamed(_ rename: (String) -> String?) -> TensorQuantizer {
        TensorQuantizer(blocks: blocks, statistics: statistics?.renamed(rename), grams: grams?.renamed(rename))
    }
}
