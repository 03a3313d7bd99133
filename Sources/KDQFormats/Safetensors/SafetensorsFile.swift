import KDQTensor
import KDQJSON

/// A parsed `.safetensors` file: the JSON header validated as the Rust reference does (size
/// limit, contiguous spans from 0 without holes or overlaps, byte sizes matching shapes),
/// with tensors viewing the mapped file in place.
public struct SafetensorsFile {
    /// Tensors in file order.
    public let tensors: [(name: String, tensor: Tensor)]
    /// The `__metadata__` strings.
    public let metadata: [String: String]

    static let maxHeaderLength = 100_000_000

    /// safetensors dtype names → encodings.
    static let encodings: [String: Encoding] = [
        "F32": .f32, "F16": .f16, "BF16": .bf16, "F64": .f64, "I8": .i8, "I16": .i16, "I32": .i32, "I64": .i64,
        "U8": .u8, "BOOL": .bool,
    ]

    /// Parses `file`.
    public init(file: MappedFile) throws {
        let path = file.path
        var r = ByteReader(file.bytes, path: path)
        let n = try r.u64("header length")
        guard n <= UInt64(Self.maxHeaderLength) else {
            throw FormatError(.badHeader, "header length \(n) exceeds the limit of \(Self.maxHeaderLength)", path: path, offset: 0)
        }
        let headerRange = try r.range(Int(n), "JSON header")
        let dataStart = headerRange.upperBound
        let header: JSONValue
        do { header = try JSONValue.parse(UnsafeRawBufferPointer(rebasing: file.bytes[headerRange])) } catch let e as JSONError {
            throw FormatError(.badHeader, e.description, path: path, offset: 8 + (e.offset ?? 0))
        }
        guard let object = header.objectValue else {
            throw FormatError(.badHeader, "header is not a JSON object", path: path, offset: 8)
        }
        var metadata: [String: String] = [:]
        var spans: [(name: String, begin: Int, end: Int, shape: [Int], encoding: Encoding)] = []
        for (name, value) in object.entries {
            if name == "__metadata__" {
                for (k, v) in value.objectValue?.entries ?? [] { metadata[k] = v.stringValue ?? v.serialized() }
                continue
            }
            spans.append(try Self.span(name, value, path: path))
        }
        spans.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expectedBegin = 0
        var tensors: [(String, Tensor)] = []
        for s in spans {
            guard s.begin == expectedBegin else {
                let what = s.begin < expectedBegin ? "overlaps the previous tensor" : "leaves a hole after the previous tensor"
                throw FormatError(.badHeader, "data_offsets begin \(s.begin) \(what) (expected \(expectedBegin))", path: path, tensor: s.name)
            }
            let absolute = try Checked.add(dataStart, s.begin, "offset of '\(s.name)'")..<(try Checked.add(dataStart, s.end, "end of '\(s.name)'"))
            guard absolute.upperBound <= file.bytes.count else {
                throw FormatError(.outOfBounds, "data ends at byte \(absolute.upperBound), past the end of the file (\(file.bytes.count) bytes)",
                                  path: path, tensor: s.name)
            }
            tensors.append((s.name, try Tensor(shape: s.shape, encoding: s.encoding, data: Storage(file: file, range: absolute))))
            expectedBegin = s.end
        }
        guard dataStart + expectedBegin == file.bytes.count else {
            throw FormatError(.badHeader, "file has \(file.bytes.count - dataStart - expectedBegin) bytes after the last tensor",
                              path: path, offset: dataStart + expectedBegin)
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    private static func span(_ name: String, _ value: JSONValue, path: String) throws
        -> (name: String, begin: Int, end: Int, shape: [Int], encoding: Encoding) {
        func bad(_ message: String) -> FormatError { FormatError(.badHeader, message, path: path, tensor: name) }
        guard let dtype = value["dtype"]?.stringValue else { throw bad("missing dtype") }
        guard let encoding = encodings[dtype] else { throw FormatError(.unsupported, "dtype \(dtype) is not supported", path: path, tensor: name) }
        guard let shapeValues = value["shape"]?.arrayValue else { throw bad("missing shape") }
        let shape = try shapeValues.map { v -> Int in
            guard let d = v.intValue, d >= 0 else { throw bad("shape entry \(v.serialized()) is not a non-negative integer") }
            return d
        }
        guard let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2,
              let begin = offsets[0].intValue, let end = offsets[1].intValue, begin >= 0, end >= begin else {
            throw bad("data_offsets must be two integers [begin, end] with 0 <= begin <= end")
        }
        let expected: Int
        do { expected = try encoding.byteCount(elements: try Checked.elementCount(shape)) } catch {
            throw FormatError.wrapping(error, path: path, tensor: name)
        }
        guard end - begin == expected else { throw bad("\(dtype) \(shape) needs \(expected) bytes, data_offsets span \(end - begin)") }
        return (name, begin, end, shape, encoding)
    }
}
