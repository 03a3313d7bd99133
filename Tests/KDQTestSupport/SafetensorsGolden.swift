import KDQFormats
import KDQTensor

/// A golden written by a reference implementation as safetensors: named tensors and string metadata.
public struct SafetensorsGolden {
    public let tensors: [String: Tensor]
    public let metadata: [String: String]

    public init(_ path: String) throws {
        let file = try SafetensorsFile(file: try MappedFile(path: path))
        tensors = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.tensor) })
        metadata = file.metadata
    }

    /// Tensor `name` as f32 values.
    public func floats(_ name: String) throws -> [Float] {
        guard let t = tensors[name] else { throw GoldenError(description: "the golden has no tensor '\(name)'") }
        return try t.decodedFloats()
    }

    /// Tensor `name` as integers (goldens store token ids as floats).
    public func ints(_ name: String) throws -> [Int] { try floats(name).map { Int($0) } }
}

/// A golden lacks what a test reads.
public struct GoldenError: Error, CustomStringConvertible {
    public let description: String
}
