import KDQTensor

/// An error reading or writing a checkpoint: what was found, what was expected, and where
/// (file, byte offset, tensor).
public struct FormatError: Error, CustomStringConvertible {
    /// A stable machine-readable category.
    public enum Code: String, Sendable {
        case io, truncated, badMagic, badHeader, outOfBounds, overflow
        case unsupported, forbiddenGlobal, badPickle, missingTensor, shapeMismatch, unknownFormat
    }

    public let code: Code
    public let message: String
    public var path: String?
    public var offset: Int?
    public var tensor: String?

    public init(_ code: Code, _ message: String, path: String? = nil, offset: Int? = nil, tensor: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.tensor = tensor
    }

    public var description: String {
        var parts: [String] = []
        if let path { parts.append(path) }
        if let offset { parts.append("byte \(offset)") }
        if let tensor { parts.append("tensor '\(tensor)'") }
        parts.append(message)
        return parts.joined(separator: ": ")
    }

    /// Wraps a tensor-core error raised while handling `tensor` in `path`.
    static func wrapping(_ error: Error, path: String, tensor: String? = nil, offset: Int? = nil) -> FormatError {
        if var e = error as? FormatError {
            e.path = e.path ?? path
            e.tensor = e.tensor ?? tensor
            return e
        }
        if let e = error as? TensorError {
            let code: Code = e.code == .overflow ? .overflow : (e.code == .io ? .io : .shapeMismatch)
            return FormatError(code, e.message, path: path, offset: offset, tensor: tensor ?? e.tensor)
        }
        return FormatError(.io, "\(error)", path: path, offset: offset, tensor: tensor)
    }
}
