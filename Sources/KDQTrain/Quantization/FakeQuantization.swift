import KDQTensor

/// Quantization-aware training: each planned tensor's forward value is what its encoding
/// decodes to (the same block encoders the guided quantizer writes), and its gradient goes to the
/// f32 master unchanged (the straight-through estimator).
public final class FakeQuantization {
    /// Tensor name → encoding it will be shipped in.
    public let plan: [String: Encoding]
    public let quantizer: BlockQuantizer
    private var buffers: [String: UnsafeMutablePointer<Float>] = [:]
    private let store: ParameterStore

    /// Puts the fake-quantized values of every tensor of `plan` in front of `store`'s masters.
    public init(_ store: ParameterStore, plan: [String: Encoding], quantizer: BlockQuantizer = .nearest) throws {
        self.store = store
        self.plan = plan
        self.quantizer = quantizer
        for name in plan.keys.sorted() {
            let e = try store.entry(name)
            let b = UnsafeMutablePointer<Float>.allocate(capacity: max(1, e.count))
            buffers[name] = b
            store.setForwardOverride(name, b)
        }
        try refresh()
    }

    deinit {
        for (name, b) in buffers {
            store.setForwardOverride(name, nil)
            b.deallocate()
        }
    }

    /// Re-encodes every planned tensor from its master values (after each optimizer step).
    public func refresh() throws {
        for name in plan.keys.sorted() { _ = try encode(name, into: buffers[name]!) }
    }

    /// The tensor `name` encoded as planned, from its current master values: the bytes shipped.
    public func encoded(_ name: String) throws -> Tensor {
        guard let encoding = plan[name] else { throw TrainingError("tensor '\(name)' has no planned encoding") }
        let e = try store.entry(name)
        return try Tensor(shape: e.shape, floats: try store.array(name)).converted(to: encoding, quantizer: quantizer)
    }

    private func encode(_ name: String, into buffer: UnsafeMutablePointer<Float>) throws -> Tensor {
        let t = try encoded(name)
        try t.decode(start: 0, count: t.elementCount, into: buffer)
        return t
    }
}
