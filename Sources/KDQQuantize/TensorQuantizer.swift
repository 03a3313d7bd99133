import KDQTensor

/// How the search quantizer weighs a weight's error by the calibration audio's layer inputs.
public enum ErrorWeighting: String, Sendable, CaseIterable {
    /// Every weight's error counts the same.
    case none
    /// Each column's error weighted by the mean square of the layer's input in that column.
    case activations
    /// As `activations`, and each column rounded after the errors of the columns before it,
    /// corrected through the inputs' whole second moment (`CompensatedQuantizer`, GPTQ).
    case covariance
}

/// How a plan's tensors are encoded: ggml blocks by `blocks`, and with the search quantizer
/// each column's error weighted by the calibration activations when `statistics` is given —
/// rounded with error compensation (GPTQ) when they hold the inputs' covariances.
public struct TensorQuantizer: Sendable {
    /// Round to nearest (whisper.cpp's bytes) or error-minimizing search.
    public let blocks: BlockQuantizer
    /// The calibration inputs of every linear layer; nil for unweighted error.
    public let statistics: ActivationStatistics?
    /// Where the decoder layers' covariances came from, when other sequences than the
    /// calibration windows gave them (`DecoderCalibration`).
    public let decoderCovariances: DecoderCovariances?
    private let factors = InverseFactors()

    public init(blocks: BlockQuantizer, statistics: ActivationStatistics? = nil, decoderCovariances: DecoderCovariances? = nil) {
        self.blocks = blocks
        self.statistics = blocks == .search ? statistics : nil
        self.decoderCovariances = self.statistics?.hasCovariances == true ? decoderCovariances : nil
    }

    /// The weighting recorded in the archive.
    public var weighting: ErrorWeighting {
        guard let statistics else { return .none }
        return statistics.hasCovariances ? .covariance : .activations
    }

    /// The column weights for tensor `name` (nil when unweighted or not a linear layer).
    public func importance(_ name: String, _ tensor: Tensor) -> [Float]? {
        statistics?.importance(name, rowLength: tensor.rowLength)
    }

    /// `tensor` (named `name`) in `target`: with covariances, a matrix in a ggml block encoding
    /// whose layer inputs were observed often enough is rounded column by column
    /// (`CompensatedQuantizer`); every other tensor as without them.
    public func convert(_ name: String, _ tensor: Tensor, to target: Encoding) throws -> Tensor {
        if weighting == .covariance, tensor.shape.count >= 2, BlockGrid.encodings.contains(target), target.tilesRows(of: tensor.shape),
           let statistics, let encoder = Tensor.blockEncoder(target, quantizer: blocks),
           let factor = factors.factor(name, columns: tensor.rowLength, statistics: statistics) {
            let data = CompensatedQuantizer.encode(try tensor.decodedFloats(), rows: tensor.shape[0], columns: tensor.rowLength, to: target,
                                                   factor: factor, importance: importance(name, tensor), encoder: encoder)
            return try Tensor(shape: tensor.shape, encoding: target, data: data)
        }
        return try tensor.converted(to: target, quantizer: blocks, importance: importance(name, tensor))
    }

    /// The same quantizer for a model whose tensors are named otherwise (see
    /// `ActivationStatistics.renamed`).
    public func renamed(_ rename: (String) -> String?) -> TensorQuantizer {
        TensorQuantizer(blocks: blocks, statistics: statistics?.renamed(rename), decoderCovariances: decoderCovariances)
    }
}

/// Each layer's `CompensatedQuantizer.inverseFactor`, computed once (every candidate encoding
/// of a tensor rounds with the same one).
final class InverseFactors: @unchecked Sendable {
    private let lock = NSLockLite()
    private var factors: [String: [Float]?] = [:]

    /// Nil when the layer's inputs were not observed at this width, had fewer rows than
    /// `CompensatedQuantizer.minimumRowsPerColumn` per column, or give no positive definite H.
    func factor(_ name: String, columns: Int, statistics: ActivationStatistics) -> [Float]? {
        if let known = lock.withLock({ factors[name] }) { return known }
        let enough = statistics.covarianceRowCount(name) >= CompensatedQuantizer.minimumRowsPerColumn * columns
        let factor = enough ? statistics.covariance(name, rowLength: columns).flatMap { CompensatedQuantizer.inverseFactor($0, n: columns) } : nil
        lock.withLock { factors[name] = factor }
        return factor
    }
}
