import KDQJSON
import KDQTensor

/// Writes a `.safetensors` file: the JSON header (dtype, shape, data_offsets per tensor,
/// `__metadata__`) padded with spaces to a multiple of 8, then the tensors back to back.
enum SafetensorsWriter {
    static let dtypeNames: [Encoding: String] = Dictionary(uniqueKeysWithValues: SafetensorsFile.encodings.map { ($1, $0) })

    static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String], to path: String) throws {
        var header = JSONObject()
        header["__metadata__"] = .object(JSONObject(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))
        var offset = 0
        for (name, t) in tensors {
            guard let dtype = dtypeNames[t.encoding] else {
                throw FormatError(.unsupported, "safetensors has no \(t.encoding.rawValue) dtype", path: path, tensor: name)
            }
            header[name] = .object(["dtype": .string(dtype), "shape": .ints(t.shape), "data_offsets": .ints([offset, offset + t.data.count])])
            offset += t.data.count
        }
        var json = Array(header.serializedValue.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        let sink = try FileSink(creating: path)
        try sink.write(le: UInt64(json.count))
        try sink.write(json)
        for (_, t) in tensors { try sink.write(t.data.bytes) }
        try sink.close()
    }
}

extension JSONObject {
    /// Compact JSON text of the object.
    var serializedValue: String { JSONValue.object(self).serialized() }
}
