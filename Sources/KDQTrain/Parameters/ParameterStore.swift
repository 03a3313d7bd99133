import KDQFormats
import KDQTensor

/// Every tensor of a model as f32 master values in one allocation, and, for the trainable ones,
/// their gradients and AdamW moments as views into one more allocation (llm.c's layout). The
/// forward pass reads `forward(_:)`, which is the master value unless fake quantization has put
/// the value the shipped encoding decodes to in its place.
public final class ParameterStore: @unchecked Sendable {
    /// One tensor's place in the store.
    public struct Entry: Sendable {
        public let name: String
        public let shape: [Int]
        public let count: Int
        /// Offset of its values in the value allocation.
        let valueOffset: Int
        /// Offset of its gradient and moments in the training allocation, when trainable.
        let trainOffset: Int?
        public var isTrainable: Bool { trainOffset != nil }
    }

    public let dims: ModelDims
    public private(set) var entries: [Entry] = []
    private var index: [String: Int] = [:]
    private let values: UnsafeMutablePointer<Float>
    private let training: UnsafeMutablePointer<Float>
    /// Elements of all tensors, and of the trainable ones.
    public let totalCount: Int
    public let trainableCount: Int
    /// Values the forward pass reads in place of the master value (fake-quantized tensors).
    private var forwardOverrides: [String: UnsafeMutablePointer<Float>] = [:]

    /// Decodes `tensors` to f32; those for which `trainable` says yes get gradients and moments.
    public init(dims: ModelDims, tensors: [(name: String, tensor: Tensor)], trainable: (String) -> Bool) throws {
        self.dims = dims
        var valueOffset = 0, trainOffset = 0
        for (name, t) in tensors {
            let train = trainable(name)
            entries.append(Entry(name: name, shape: t.shape, count: t.elementCount, valueOffset: valueOffset,
                                 trainOffset: train ? trainOffset : nil))
            index[name] = entries.count - 1
            valueOffset += t.elementCount
            if train { trainOffset += t.elementCount }
        }
        totalCount = valueOffset
        trainableCount = trainOffset
        values = .allocate(capacity: max(1, valueOffset))
        training = .allocate(capacity: max(1, 3 * trainOffset))
        training.initialize(repeating: 0, count: max(1, 3 * trainOffset))
        for (entry, (name, t)) in zip(entries, tensors) where entry.count > 0 {
            do { try t.decode(start: 0, count: entry.count, into: values + entry.valueOffset) } catch {
                throw TrainingError("cannot decode tensor '\(name)': \(error)")
            }
        }
    }

    /// The tensors of `checkpoint`; `trainable` picks those that learn.
    public convenience init(_ checkpoint: Checkpoint, trainable: (String) -> Bool) throws {
        try self.init(dims: checkpoint.dims, tensors: checkpoint.tensors, trainable: trainable)
    }

    deinit {
        values.deallocate()
        training.deallocate()
    }

    /// The entry called `name`.
    public func entry(_ name: String) throws -> Entry {
        guard let i = index[name] else { throw TrainingError("tensor '\(name)' is missing from the model") }
        return entries[i]
    }

    /// Whether the model has a tensor called `name`.
    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// The master values of `name`.
    public func value(_ name: String) throws -> UnsafeMutablePointer<Float> {
        values + (try entry(name)).valueOffset
    }

    /// What the forward pass reads for `name`: the fake-quantized values when set, else the master.
    public func forward(_ name: String) throws -> UnsafePointer<Float> {
        if let o = forwardOverrides[name] { return UnsafePointer(o) }
        return UnsafePointer(try value(name))
    }

    /// The gradient of `name`, or nil when it does not train.
    public func gradient(_ name: String) throws -> UnsafeMutablePointer<Float>? {
        try entry(name).trainOffset.map { training + $0 }
    }

    /// All gradients, contiguous (`trainableCount` values).
    public var gradients: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: training, count: trainableCount) }

    /// AdamW's first and second moments, contiguous, in the gradients' order.
    var moments: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
        (training + trainableCount, training + 2 * trainableCount)
    }

    /// Master values of a trainable entry.
    func masterValues(_ e: Entry) -> UnsafeMutablePointer<Float> { values + e.valueOffset }

    /// The trainable tensors' master values followed by both moments: what a training checkpoint keeps.
    public func trainingState() -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(3 * trainableCount)
        for e in entries where e.isTrainable { out += UnsafeBufferPointer(start: values + e.valueOffset, count: e.count) }
        out += UnsafeBufferPointer(start: training + trainableCount, count: 2 * trainableCount)
        return out
    }

    /// Puts back what `trainingState()` returned (of a store with the same trainable tensors).
    public func restoreTrainingState(_ state: [Float]) throws {
        guard state.count == 3 * trainableCount else {
            throw TrainingError("training state of \(state.count) values, expected \(3 * trainableCount) for this student")
        }
        var offset = 0
        for e in entries where e.isTrainable {
            (values + e.valueOffset).update(from: Array(state[offset..<(offset + e.count)]), count: e.count)
            offset += e.count
        }
        (training + trainableCount).update(from: Array(state[offset...]), count: 2 * trainableCount)
    }

    /// Sets AdamW's moments to zero (a fresh optimizer).
    public func zeroMoments() { (training + trainableCount).update(repeating: 0, count: 2 * trainableCount) }

    /// Sets every gradient to zero.
    public func zeroGradients() { training.update(repeating: 0, count: trainableCount) }

    /// Makes the forward pass read `buffer` (owned by the caller, `count` of `name`) for `name`.
    func setForwardOverride(_ name: String, _ buffer: UnsafeMutablePointer<Float>?) {
        forwardOverrides[name] = buffer
    }

    /// The master values of `name` as an array.
    public func array(_ name: String) throws -> [Float] {
        let e = try entry(name)
        return Array(UnsafeBufferPointer(start: values + e.valueOffset, count: e.count))
    }

    /// The gradient of `name` as an array (zeros for a frozen tensor).
    public func gradientArray(_ name: String) throws -> [Float] {
        let e = try entry(name)
        guard let g = try gradient(name) else { return [Float](repeating: 0, count: e.count) }
        return Array(UnsafeBufferPointer(start: g, count: e.count))
    }

    /// The master values as tensors, in the store's order: what a student is written as.
    public func tensors() throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for e in entries { out[e.name] = try Tensor(shape: e.shape, floats: try array(e.name)) }
        return out
    }
}

/// A training failure: what was found and where.
public struct TrainingError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
