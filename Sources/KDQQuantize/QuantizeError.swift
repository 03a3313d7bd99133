/// An error of planning or applying a quantization: what was found, what was expected, where.
public struct QuantizeError: Error, CustomStringConvertible {
    public let message: String
    public let tensor: String?

    public init(_ message: String, tensor: String? = nil) {
        self.message = message
        self.tensor = tensor
    }

    public var description: String { tensor.map { "tensor '\($0)': \(message)" } ?? message }
}
