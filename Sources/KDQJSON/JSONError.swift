/// A JSON document that json-c could not parse, or that lacks a member the caller needs.
public struct JSONError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public let offset: Int?

    public init(_ message: String, offset: Int? = nil) {
        self.message = message
        self.offset = offset
    }

    public var description: String {
        if let offset { return "invalid JSON at byte \(offset): \(message)" }
        return "invalid JSON: \(message)"
    }
}
