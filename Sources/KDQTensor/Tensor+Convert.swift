/// Re-encoding a tensor. Every conversion goes through f32, so any source encoding can
/// reach any target the encoders support.
extension Tensor {
    /// The encodings `converted(to:)` can produce.
    public static let conversionTargets: Set<Encoding> = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .int8Rows]

    /// The same values in `target`; returns `self` when already there. Lossy targets round
    /// as the tools that define them do (f16/bf16 to nearest even; ggml blocks as ggml's
    /// reference quantizers; int8 rows as CTranslate2).
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
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0:
            let encode = Quantizers.blockEncoder(target)!
            let bytes = try target.byteCount(elements: elementCount)
            let size = target.blockBytes
            let data = Storage(count: bytes) { out in
                values.withUnsafeBufferPointer { v in
                    for b in 0..<(elementCount / 32) { encode(v.baseAddress! + 32 * b, out.baseAddress! + size * b) }
                }
            }
            return try Tensor(shape: shape, encoding: target, data: data)
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
