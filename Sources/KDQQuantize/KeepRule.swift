import KDQAnalysis
import KDQTensor

/// A user's override, `PATTERN=ENCODING` (or just `PATTERN`, keeping the source encoding):
/// every tensor whose name matches takes that encoding and is left out of the allocation.
public struct KeepRule: Sendable {
    public let pattern: String
    /// nil keeps the tensor's own encoding.
    public let encoding: Encoding?

    /// Parses `PATTERN[=ENCODING]`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, !first.isEmpty else { throw QuantizeError("keep rule '\(text)' has no tensor pattern") }
        pattern = first
        if parts.count == 2 {
            guard let e = Encoding(rawValue: parts[1]), Tensor.conversionTargets.contains(e) else {
                let known = Tensor.conversionTargets.map(\.rawValue).sorted().joined(separator: ", ")
                throw QuantizeError("keep rule '\(text)' names encoding '\(parts[1])'; expected one of \(known)")
            }
            encoding = e
        } else {
            encoding = nil
        }
    }

    /// The encoding the first matching rule pins `name` to (its own when the rule names none).
    public static func pinned(_ name: String, source: Encoding, rules: [KeepRule]) -> Encoding? {
        guard let rule = rules.first(where: { NamePattern($0.pattern).matches(name) }) else { return nil }
        return rule.encoding ?? source
    }
}
