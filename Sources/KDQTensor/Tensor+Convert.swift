/// Re-encoding a tensor. Every conversion goes through f32, so any source encoding can
/// reach any target the encoders support.
extension Tensor {
    /// The encodings `converted(to:)` can produce.
    public static let conversionTargets: Set<Encoding> = [.f32, .f16, .bf16, .q8_0, .int8Rows]

    /// The same values in `target`; returns `self` when already there. Lossy targets round
    /// as the tools that define them do (f16/bf16 to nearest even; q8_0 as ggml; int8 rows as
    /// CTranslate2).
    public func converted(to target: Encoding) throws -> Tensor {
        if target == encoding { return self }
        let values = try decodedFloats()
        switch target {
        case .f32:
            return try Tensor(shape: shape, floats: values)
        case .f16:
            return try Tensor(shape: shape, encoding: .f16, data: Storage(values: values.map(HalfPrecision.floatToF16)))
        case .bf16:
            return try Tensor(shape: shape, encoding: .bf16, data: Storage(values: values.map(HalfPrecision.floatToBF16)))
        case .q8_0:
            let bytes = try Encoding.q8_0.byteCount(elements: elementCount)
            let data = Storage(count: bytes) { out in
                values.withUnsafeBufferPointer { v in
                    for b in 0..<(elementCount / 32) { Quantizers.q8_0(v.baseAddress! + 32 * b, out.baseAddress! + 34 * b) }
                }
            }
            return try Tensor(shape: shape, encoding: .q8_0, data: data)
        case .int8Rows:
            let rows = shape.first ?? 1
            let rowLength = rows == 0 ? 0 : elementCount / rows
            var scales = [Float](repeating: 1, count: rows)
            let data = Storage(count: elementCount) { out in
                let q = out.bindMemory(to: Int8.self).baseAddress!
                values.withUnsafeBufferPointer { v in
                    for r in 0..<rows { scales[r] = Quantizers.int8Row(v.baseAddress! + r * rowLength, rowLength, q + r * rowLength) }
                }
            }
            return try Tensor(shape: shape, encoding: .int8Rows, data: data, scales: Storage(values: scales))
        default:
            throw TensorError(.unsupportedEncoding, "cannot convert \(encoding.rawValue) to \(target.rawValue)")
        }
    }
}
