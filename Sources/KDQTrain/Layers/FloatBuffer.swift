/// An owned, zero-initialized f32 buffer at a stable address (activations and scratch for BLAS).
final class FloatBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(1, count))
        pointer.initialize(repeating: 0, count: max(1, count))
    }

    /// A copy of `count` values at `source`.
    convenience init(copying source: UnsafePointer<Float>, count: Int) {
        self.init(count)
        pointer.update(from: source, count: count)
    }

    deinit { pointer.deallocate() }

    var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
