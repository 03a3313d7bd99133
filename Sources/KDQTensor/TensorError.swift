/// An error raised by the tensor core: what was found, what was expected, and which tensor.
public struct TensorError: Error, CustomStringConvertible, Equatable {
    /// A stable machine-readable category.
    public enum Code: String, Sendable {
        case overflow
        case sizeMismatch
        case unsupportedEncoding
        case invalidShape
        case io
    }

    public let code: Code
    public let message: String
    public let tensor: String?

    public init(_ code: Code, _ message: String, tensor: String? = nil) {
        self.code = code
        self.message = message
        self.tensor = tensor
    }

    public var description: String {
        if let tensor { return "tensor '\(tensor)': \(message)" }
        return message
    }
}
