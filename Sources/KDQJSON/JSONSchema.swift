import Foundation

/// A validator for the subset of JSON Schema (draft 2020-12) that kdq's own schemas use:
/// `type` (one or a list), `properties`, `required`, `additionalProperties` (bool or schema),
/// `items`, `enum`, `const`, `minimum`, `minItems`, `maxItems`, `pattern`, `anyOf`, and
/// `$ref` to `#/$defs/NAME`. Unknown keywords are ignored, as the specification says.
public struct JSONSchema {
    public let root: JSONValue
    /// Every `pattern` in the schema, compiled once (nil for one that is not a valid
    /// expression): a manifest checks one per tensor.
    private let expressions: [String: NSRegularExpression?]

    public init(_ root: JSONValue) {
        self.root = root
        var expressions: [String: NSRegularExpression?] = [:]
        Self.visitPatterns(root) { expressions[$0] = try? NSRegularExpression(pattern: $0) }
        self.expressions = expressions
    }

    private static func visitPatterns(_ schema: JSONValue, _ body: (String) -> Void) {
        if let object = schema.objectValue {
            for (key, member) in object.entries {
                if key == "pattern", let pattern = member.stringValue { body(pattern) } else { visitPatterns(member, body) }
            }
        }
        for element in schema.arrayValue ?? [] { visitPatterns(element, body) }
    }

    /// Whether `s` contains a match of `pattern` (JSON Schema patterns are not anchored).
    private func matches(_ s: String, pattern: String) -> Bool {
        guard let compiled = expressions[pattern], let expression = compiled else { return false }
        return expression.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }

    /// Every violation, as `path: message` (empty when `value` is valid).
    public func validate(_ value: JSONValue) -> [String] {
        var problems: [String] = []
        check(value, against: root, at: "$", into: &problems)
        return problems
    }

    private func resolve(_ schema: JSONValue) -> JSONValue {
        guard let ref = schema["$ref"]?.stringValue, ref.hasPrefix("#/$defs/") else { return schema }
        return root["$defs"]?[String(ref.dropFirst(8))] ?? .object([:])
    }

    private func check(_ value: JSONValue, against raw: JSONValue, at path: String, into problems: inout [String]) {
        let schema = resolve(raw)
        if let anyOf = schema["anyOf"]?.arrayValue {
            let branches = anyOf.map { branch -> [String] in
                var p: [String] = []
                check(value, against: branch, at: path, into: &p)
                return p
            }
            if !branches.contains(where: \.isEmpty) {
                problems.append("\(path): matches none of \(anyOf.count) alternatives (\(branches.compactMap(\.first).joined(separator: "; ")))")
            }
        }
        if let types = schema["type"] {
            let allowed = types.arrayValue?.compactMap(\.stringValue) ?? [types.stringValue ?? ""]
            guard allowed.contains(where: { Self.matches(value, type: $0) }) else {
                problems.append("\(path): expected \(allowed.joined(separator: " or ")), found \(Self.typeName(value))")
                return
            }
        }
        if let options = schema["enum"]?.arrayValue, !options.contains(value) {
            problems.append("\(path): \(value.serialized()) is not one of \(options.map { $0.serialized() }.joined(separator: ", "))")
        }
        if let constant = schema["const"], constant != value {
            problems.append("\(path): expected \(constant.serialized()), found \(value.serialized())")
        }
        if let minimum = schema["minimum"]?.doubleValue, let number = value.doubleValue, number < minimum {
            problems.append("\(path): \(number) is below the minimum \(minimum)")
        }
        if let pattern = schema["pattern"]?.stringValue, let s = value.stringValue,
           !matches(s, pattern: pattern) {
            problems.append("\(path): \"\(s)\" does not match \(pattern)")
        }
        if let array = value.arrayValue {
            if let minItems = schema["minItems"]?.intValue, array.count < minItems { problems.append("\(path): fewer than \(minItems) items") }
            if let maxItems = schema["maxItems"]?.intValue, array.count > maxItems { problems.append("\(path): more than \(maxItems) items") }
            if let items = schema["items"] {
                for (i, element) in array.enumerated() { check(element, against: items, at: "\(path)[\(i)]", into: &problems) }
            }
        }
        if let object = value.objectValue {
            for key in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where object[key] == nil {
                problems.append("\(path): missing required member '\(key)'")
            }
            let properties = schema["properties"]?.objectValue
            for (key, member) in object.entries {
                if let sub = properties?[key] {
                    check(member, against: sub, at: "\(path).\(key)", into: &problems)
                } else if let additional = schema["additionalProperties"] {
                    if additional == .bool(false) { problems.append("\(path): unexpected member '\(key)'") } else if additional.objectValue != nil {
                        check(member, against: additional, at: "\(path).\(key)", into: &problems)
                    }
                }
            }
        }
    }

    private static func matches(_ v: JSONValue, type: String) -> Bool {
        switch (type, v) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object): return true
        case ("integer", .int): return true
        case ("integer", .double(let d)): return d == d.rounded()
        case ("number", .int), ("number", .double): return true
        default: return false
        }
    }

    private static func typeName(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}
