import KDQTensor

/// How a plan's tensors are encoded: ggml blocks by `blocks`, and with the search quantizer
/// each column's error weighted by the calibration activations when `statistics` is given.
public struct TensorQuantizer: Sendable {
    /// Round to nearest (whisper.cpp's bytes) or error-minimizing search.
    public let blocks: BlockQuantizer
    /// The calibration inputs of every linear layer; nil for unweighted error.
    public let statistics: ActivationStatistics?

    public init(blocks: BlockQuantizer, statistics: ActivationStatistics? = nil) {
        self.blocks = blocks
        self.statistics = blocks == .search ? statistics : nil
    }

    /// The weighting recorded in the archive: `activations` or `none`.
    public var weighting: String { statistics == nil ? "none" : "activations" }

    /// The column weights for tensor `name` (nil when unweighted or not a linear layer).
    public func importance(_ name: String, _ tensor: Tensor) -> [Float]? {
        statistics?.importance(name, rowLength: tensor.shape.last ?? 0)
    }

    /// `tensor` (named `name`) in `target`.
    public func convert(_ name: String, _ tensor: Tensor, to target: Encoding) throws -> Tensor {
        try tensor.converted(to: target, quantizer: blocks, importance: importance(name, tensor))
    }

    /// The same quantizer for a model whose tensors are named otherwise (see
    /// `ActivationStatistics.renamed`).
    public func renamed(_ rename: (String) -> String?) -> TensorQuantizer {
        TensorQuantizer(blocks: blocks, statistics: statistics?.renamed(rename))
    }
}
