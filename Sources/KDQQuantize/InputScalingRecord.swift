import KDQJSON
import KDQTensor

/// What `InputScaling` did, as the archive records it (`compression.input_scaling`,
/// formats/kdq.md §3): the encoding the scales were fitted for, the exponents tried and, per
/// group, the exponent chosen with the group's output error unscaled and scaled.
public struct InputScalingRecord: Sendable, Equatable {
    /// One group's fit.
    public struct Choice: Sendable, Equatable {
        public let fold: InputScaling.Fold
        public let source: String
        /// α of sᵢ = rmsᵢ^α; 0 leaves the group unscaled.
        public let exponent: Double
        /// Σⱼ E[xⱼ²]·‖ΔW[:, j]‖² over the group's layers, in the fitted encoding.
        public let unscaledError: Double
        public let scaledError: Double
    }

    public let encoding: Encoding
    public let exponents: [Double]
    public let groups: [Choice]

    /// The groups' summed output error scaled over unscaled (1 when nothing was fitted).
    public var errorRatio: Double {
        let before = groups.reduce(0) { $0 + $1.unscaledError }
        return before > 0 ? groups.reduce(0) { $0 + $1.scaledError } / before : 1
    }

    /// The record as the manifest holds it.
    public var json: JSONValue {
        .object([
            "method": "awq",
            "rule": "per group of layers reading one input, its columns scaled by rms^alpha and the input divided by it (folded into the layer norm or the value projection); alpha minimizes the group's activation-weighted error in the fitted encoding",
            "encoding": .string(encoding.rawValue),
            "exponents": .array(exponents.map { .number($0) }),
            "groups": .array(groups.map { g in
                .object(["fold": .string(g.fold.rawValue), "source": .string(g.source), "exponent": .number(g.exponent),
                         "unscaled_error": QuantizationRecord.finite(g.unscaledError), "scaled_error": QuantizationRecord.finite(g.scaledError)])
            }),
        ])
    }

    public init(encoding: Encoding, exponents: [Double], groups: [Choice]) {
        self.encoding = encoding
        self.exponents = exponents
        self.groups = groups
    }

    /// Reads the record `json` writes.
    public init(json: JSONValue) throws {
        guard let o = json.objectValue, let name = o["encoding"]?.stringValue, let groups = o["groups"]?.arrayValue,
              let exponents = o["exponents"]?.arrayValue else {
            throw QuantizeError("compression.input_scaling needs an encoding, its exponents and its groups")
        }
        guard let encoding = Encoding(rawValue: name) else {
            throw QuantizeError("compression.input_scaling names the encoding '\(name)', which kdq does not know")
        }
        self.encoding = encoding
        self.exponents = try exponents.map {
            guard let d = $0.doubleValue else { throw QuantizeError("compression.input_scaling.exponents holds a non-number") }
            return d
        }
        self.groups = try groups.enumerated().map { k, g in
            guard let fold = g["fold"]?.stringValue.flatMap(InputScaling.Fold.init(rawValue:)), let source = g["source"]?.stringValue,
                  let exponent = g["exponent"]?.doubleValue else {
                throw QuantizeError("compression.input_scaling.groups[\(k)] needs a fold (layer_norm or value), a source and an exponent")
            }
            return Choice(fold: fold, source: source, exponent: exponent, unscaledError: g["unscaled_error"]?.doubleValue ?? .nan,
                          scaledError: g["scaled_error"]?.doubleValue ?? .nan)
        }
    }
}
