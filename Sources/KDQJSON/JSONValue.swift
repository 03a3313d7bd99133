/// A JSON document as a Swift value. Objects keep their key order, so output is stable
/// and reads in the order it was built.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The string, if this is a string.
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }

    /// The integer, if this is an integer (or a double with an integral value).
    public var intValue: Int? {
        switch self {
        case .int(let i): return Int(exactly: i)
        case .double(let d): return Int(exactly: d)
        default: return nil
        }
    }

    /// The number as a double, if this is a number.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// The bool, if this is a bool.
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }

    /// The object, if this is an object.
    public var objectValue: JSONObject? { if case .object(let o) = self { return o }; return nil }

    /// Member `key` of an object (nil for other values or a missing key).
    public subscript(key: String) -> JSONValue? { objectValue?[key] }
}

/// A JSON object with its members in insertion order (and an index for lookups).
public struct JSONObject: Equatable, Sendable, ExpressibleByDictionaryLiteral {
    /// The members, in order.
    public private(set) var entries: [(key: String, value: JSONValue)] = []
    private var index: [String: Int] = [:]

    public init() {}

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }

    /// An object from ordered pairs (a later duplicate key replaces the earlier value).
    public init(_ pairs: [(String, JSONValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    /// The member named `key`; setting replaces it in place or appends it.
    public subscript(key: String) -> JSONValue? {
        get { index[key].map { entries[$0].value } }
        set {
            if let i = index[key] {
                if let newValue {
                    entries[i].value = newValue
                } else {
                    entries.remove(at: i)
                    index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.key, $0) })
                }
            } else if let newValue {
                index[key] = entries.count
                entries.append((key, newValue))
            }
        }
    }

    /// The member names in order.
    public var keys: [String] { entries.map(\.key) }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(Int64(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

extension JSONValue {
    /// An integer value.
    public static func number(_ i: Int) -> JSONValue { .int(Int64(i)) }
    /// A double value (non-finite values serialize as null).
    public static func number(_ d: Double) -> JSONValue { .double(d) }
    /// An array of integers (shapes).
    public static func ints(_ values: [Int]) -> JSONValue { .array(values.map { .int(Int64($0)) }) }
}
