import KDQTensor

extension Checkpoint {
    /// Re-encodes every tensor not already in `target`; returns what changed.
    public mutating func convertTensors(to target: Encoding) throws -> [(tensor: String, from: Encoding, to: Encoding)] {
        try convertTensors { _, _ in target }
    }

    /// Re-encodes each tensor to the encoding `choose` returns for it (nil keeps it), ggml
    /// blocks chosen by `quantizer`, the search quantizer's error weighted per column by
    /// `importance` of the tensor where it gives weights; returns what changed.
    public mutating func convertTensors(quantizer: BlockQuantizer = .nearest, importance: (String, Tensor) -> [Float]? = { _, _ in nil },
                                        _ choose: (String, Tensor) -> Encoding?) throws -> [(tensor: String, from: Encoding, to: Encoding)] {
        try convertTensors(choose) { name, t, target in try t.converted(to: target, quantizer: quantizer, importance: importance(name, t)) }
    }

    /// Re-encodes each tensor to the encoding `choose` returns for it (nil keeps it) with
    /// `convert(name, tensor, target)`; returns what changed.
    public mutating func convertTensors(_ choose: (String, Tensor) -> Encoding?,
                                        using convert: (String, Tensor, Encoding) throws -> Tensor) throws -> [(tensor: String, from: Encoding, to: Encoding)] {
        var changes: [(String, Encoding, Encoding)] = []
        for i in tensors.indices {
            let (name, t) = tensors[i]
            guard let target = choose(name, t), target != t.encoding else { continue }
            do { tensors[i].tensor = try convert(name, t, target) } catch {
                throw FormatError.wrapping(error, path: provenance.path, tensor: name)
            }
            changes.append((name, t.encoding, target))
        }
        return changes
    }
}
