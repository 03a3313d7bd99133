import KDQTensor

/// Quantization-aware training: each planned tensor's forward value is what its encoding
/// decodes to (the same block encoders the guided quantizer writes), and its gradient goes to the
/// f32 master unchanged (the straight-through estimator).
public final class FakeQuantization {
    /// How a planned tensor is encoded from its master values: its name, the values as an f32
    /// tensor, and its planned encoding.
    public typealias Encode = (_ name: String, _ values: Tensor, _ encoding: Encoding) throws -> Tensor

    /// whisper.cpp's round-to-nearest blocks.
    public static let nearest: Encode = { _, values, encoding in try values.converted(to: encoding, quantizer: .nearest) }

    /// Tensor name → encoding it will be shipped in.
    public let plan: [String: Encoding]
    /// How each tensor is encoded, in every step and for the archive.
    public let encode: Encode
    private var buffers: [String: UnsafeMutablePointer<Float>] = [:]
    private let store: ParameterStore

    /// Puts the fake-quantized values of every tensor of `plan`, encoded by `encode`, in front of
    /// `store`'s masters.
    public init(_ store: ParameterStore, plan: [String: Encoding], encode: @escaping Encode = FakeQuantization.nearest) throws {
        self.store = store
        self.plan = plan
        self.encode = encode
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
        return try encode(name, Tensor(shape: e.shape, floats: try store.array(name)), encoding)
    }

    private func encode(_ name: String, into buffer: UnsafeMutablePointer<Float>) throws -> Tensor {
        let t = try encoded(name)
        try t.decode(start: 0, count: t.elementCount, into: buffer)
        return t
    }
}
