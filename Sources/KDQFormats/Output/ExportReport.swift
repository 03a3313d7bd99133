import KDQTensor

/// What an export had to change because the target cannot represent it: every tensor
/// conversion and every piece of material left out, so nothing is dropped silently.
public struct ExportReport: Sendable {
    public struct Conversion: Sendable {
        public let tensor: String
        public let from: Encoding
        public let to: Encoding
        public let reason: String
    }

    public private(set) var conversions: [Conversion] = []
    /// Material that could not be written (e.g. a tokenizer the source lacked).
    public private(set) var omissions: [String] = []

    public init() {}

    mutating func converted(_ tensor: String, _ from: Encoding, _ to: Encoding, _ reason: String) {
        conversions.append(Conversion(tensor: tensor, from: from, to: to, reason: reason))
    }

    mutating func omitted(_ what: String) { omissions.append(what) }

    /// Converts `tensor` to `target` when it is not already there, recording why.
    mutating func convert(_ name: String, _ tensor: Tensor, to target: Encoding, _ reason: String) throws -> Tensor {
        guard tensor.encoding != target else { return tensor }
        converted(name, tensor.encoding, target, reason)
        return try tensor.converted(to: target)
    }
}
