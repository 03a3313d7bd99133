import CJSONC

extension JSONValue {
    /// Parses UTF-8 JSON text with json-c. The whole input must be one JSON value
    /// (trailing white space allowed); nesting deeper than 64 levels is rejected.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        guard bytes.count <= Int(Int32.max) else { throw JSONError("document of \(bytes.count) bytes is too large") }
        guard let tokener = json_tokener_new_ex(64) else { throw JSONError("json-c could not allocate a parser") }
        defer { json_tokener_free(tokener) }
        let empty: [CChar] = [0]
        let object = empty.withUnsafeBufferPointer { fallback in
            json_tokener_parse_ex(tokener, bytes.baseAddress?.assumingMemoryBound(to: CChar.self) ?? fallback.baseAddress!, Int32(bytes.count))
        }
        let status = json_tokener_get_error(tokener)
        let end = Int(json_tokener_get_parse_end(tokener))
        guard status == json_tokener_success else {
            let reason = status == json_tokener_continue ? "unexpected end of input" : String(cString: json_tokener_error_desc(status))
            if let object { json_object_put(object) }
            throw JSONError(reason, offset: end)
        }
        defer { json_object_put(object) }
        if end < bytes.count, !bytes[end...].allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw JSONError("unexpected data after the JSON value", offset: end)
        }
        return convert(object)
    }

    /// Parses a JSON string.
    public static func parse(_ text: String) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { try parse(UnsafeRawBufferPointer($0)) }
    }

    /// Parses a byte array.
    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBytes { try parse($0) }
    }

    private static func convert(_ object: OpaquePointer?) -> JSONValue {
        guard let object else { return .null }
        switch json_object_get_type(object) {
        case json_type_null: return .null
        case json_type_boolean: return .bool(json_object_get_boolean(object) != 0)
        case json_type_int: return .int(json_object_get_int64(object))
        case json_type_double: return .double(json_object_get_double(object))
        case json_type_string:
            let length = Int(json_object_get_string_len(object))
            guard let p = json_object_get_string(object) else { return .string("") }
            let buffer = UnsafeRawBufferPointer(start: p, count: length)
            return .string(String(decoding: buffer, as: UTF8.self))
        case json_type_array:
            let n = json_object_array_length(object)
            return .array((0..<n).map { convert(json_object_array_get_idx(object, $0)) })
        case json_type_object:
            var result = JSONObject()
            var it = json_object_iter_begin(object)
            var end = json_object_iter_end(object)
            while json_object_iter_equal(&it, &end) == 0 {
                let name = String(cString: json_object_iter_peek_name(&it))
                result[name] = convert(json_object_iter_peek_value(&it))
                json_object_iter_next(&it)
            }
            return .object(result)
        default: return .null
        }
    }

    /// Serializes with json-c; `pretty` indents by two spaces. Non-finite doubles become null.
    public func serialized(pretty: Bool = false) -> String {
        let object = makeJSONC()
        defer { json_object_put(object) }
        var flags = JSON_C_TO_STRING_NOSLASHESCAPE
        flags |= pretty ? (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED) : JSON_C_TO_STRING_PLAIN
        guard let c = json_object_to_json_string_ext(object, Int32(flags)) else { return "null" }
        return String(cString: c)
    }

    private func makeJSONC() -> OpaquePointer? {
        switch self {
        case .null: return nil
        case .bool(let b): return json_object_new_boolean(b ? 1 : 0)
        case .int(let i): return json_object_new_int64(i)
        case .double(let d): return d.isFinite ? json_object_new_double(d) : nil
        case .string(let s):
            let utf8 = Array(s.utf8) + [0]
            return utf8.withUnsafeBufferPointer {
                json_object_new_string_len(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(utf8.count - 1))
            }
        case .array(let a):
            let array = json_object_new_array_ext(Int32(a.count))
            for element in a { json_object_array_add(array, element.makeJSONC()) }
            return array
        case .object(let o):
            let object = json_object_new_object()
            for (k, v) in o.entries { json_object_object_add(object, k, v.makeJSONC()) }
            return object
        }
    }
}
