/// An error of the Whisper engine: what was found, what was expected, and where.
public struct EngineError: Error, CustomStringConvertible {
    public enum Code: String, Sendable { case audio, model, tokenizer, decoding }

    public let code: Code
    public let message: String
    public let path: String?

    public init(_ code: Code, _ message: String, path: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
    }

    public var description: String { path.map { "\($0): \(message)" } ?? message }
}
