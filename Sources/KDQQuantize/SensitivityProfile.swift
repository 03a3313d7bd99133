import KDQAnalysis
import KDQTensor

/// What one encoding of one tensor does, measured with every other tensor left as it was.
public struct Sensitivity: Sendable {
    public let encoding: Encoding
    /// Bytes the tensor takes in this encoding.
    public let bytes: Int
    /// Weight space: the decoded tensor against the source values.
    public let weight: ErrorMetrics
    /// Mean KL divergence (nats per position) of the next-token distributions from the
    /// unquantized model's, over the calibration windows; nil when not known.
    public let meanKL: Double?
    /// True when `meanKL` was measured by running the model; false when it was scaled from
    /// the tensor's measured probe encoding by the ratio of weight-space squared errors.
    public let measured: Bool
    /// Relative change ‖h′ − h‖ / ‖h‖ of each encoder block's output, the encoder output,
    /// and each decoder block's output; empty when not measured.
    public let encoderLayers: [Double]
    public let encoderOutput: Double?
    public let decoderLayers: [Double]

    public init(encoding: Encoding, bytes: Int, weight: ErrorMetrics, meanKL: Double? = nil, measured: Bool = true,
                encoderLayers: [Double] = [], encoderOutput: Double? = nil, decoderLayers: [Double] = []) {
        self.encoding = encoding
        self.bytes = bytes
        self.weight = weight
        self.meanKL = meanKL
        self.measured = measured
        self.encoderLayers = encoderLayers
        self.encoderOutput = encoderOutput
        self.decoderLayers = decoderLayers
    }
}

/// Every eligible tensor's alternatives, each with its measured effect.
public struct SensitivityProfile: Sendable {
    public struct Entry: Sendable {
        public let tensor: String
        /// The source encoding first, then the narrower candidates.
        public let alternatives: [Sensitivity]

        public init(tensor: String, alternatives: [Sensitivity]) {
            self.tensor = tensor
            self.alternatives = alternatives
        }
    }

    public var entries: [Entry]
    /// Calibration windows and scored positions the activation measurements averaged over.
    public var windows: Int
    public var positions: Int

    public init(entries: [Entry], windows: Int, positions: Int) {
        self.entries = entries
        self.windows = windows
        self.positions = positions
    }

    /// The entry of `tensor`, if profiled.
    public func entry(_ tensor: String) -> Entry? { entries.first { $0.tensor == tensor } }

    /// The profile under other tensor names: `source` gives, for each of `tensors`, the name
    /// its measurements are taken from (nil: not profiled). Each alternative keeps its measured
    /// effect but takes the bytes of that encoding of the tensor it is mapped onto (a
    /// vocabulary-trimmed student's token embedding is smaller than the teacher's).
    public func mapped(_ tensors: [(name: String, tensor: Tensor)], from source: (String) -> String?) -> SensitivityProfile {
        let byName = Dictionary(entries.map { ($0.tensor, $0) }, uniquingKeysWith: { a, _ in a })
        let picked = tensors.compactMap { name, tensor in
            source(name).flatMap { byName[$0] }.map { entry in
                Entry(tensor: name, alternatives: entry.alternatives.map { a in
                    Sensitivity(encoding: a.encoding, bytes: QuantizationCandidates.bytes(of: tensor, in: a.encoding), weight: a.weight,
                                meanKL: a.meanKL, measured: a.measured, encoderLayers: a.encoderLayers, encoderOutput: a.encoderOutput,
                                decoderLayers: a.decoderLayers)
                })
            }
        }
        return SensitivityProfile(entries: picked, windows: windows, positions: positions)
    }
}
