/// Decoding any encoding to f32.
extension Tensor {
    /// Decodes elements `start ..< start + count` into `out`. `start` and `count` must be
    /// multiples of the encoding's block size (32 for ggml blocks, 256 for k-quants).
    public func decode(start: Int, count: Int, into out: UnsafeMutablePointer<Float>) throws {
        let block = encoding.blockElements
        guard start >= 0, count >= 0, start + count <= elementCount, start % block == 0, count % block == 0 else {
            throw TensorError(.invalidShape, "decode range \(start)..<\(start + count) is not block-aligned inside \(elementCount) elements")
        }
        if encoding == .sinusoids { return Sinusoids.fill(shape, start: start, count: count, into: out) }
        guard count > 0, let base = data.bytes.baseAddress else { return }
        let src = base + (start / block) * encoding.blockBytes
        switch encoding {
        case .f32: for i in 0..<count { out[i] = src.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
        case .f16: HalfPrecision.decodeF16(src, count, out)
        case .bf16: for i in 0..<count { out[i] = HalfPrecision.bf16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .f64: for i in 0..<count { out[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        case .i8: for i in 0..<count { out[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
        case .u8, .bool: for i in 0..<count { out[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
        case .i16: for i in 0..<count { out[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
        case .i32: for i in 0..<count { out[i] = Float(src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
        case .i64: for i in 0..<count { out[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
        case .q4_0: decodeBlocks(src, count, out, BlockCodecs.q4_0)
        case .q4_1: decodeBlocks(src, count, out, BlockCodecs.q4_1)
        case .q5_0: decodeBlocks(src, count, out, BlockCodecs.q5_0)
        case .q5_1: decodeBlocks(src, count, out, BlockCodecs.q5_1)
        case .q8_0: decodeBlocks(src, count, out, BlockCodecs.q8_0)
        case .q6_K: decodeBlocks(src, count, out, KQuantCodecs.q6_K)
        case .q5_K: decodeBlocks(src, count, out, KQuantCodecs.q5_K)
        case .q4_K: decodeBlocks(src, count, out, KQuantCodecs.q4_K)
        case .q3_K: decodeBlocks(src, count, out, KQuantCodecs.q3_K)
        case .q2_K: decodeBlocks(src, count, out, KQuantCodecs.q2_K)
        case .int8Rows: decodeInt8Rows(start: start, count: count, src: src, out: out)
        case .sinusoids: break  // computed above
        }
    }

    /// All elements as f32.
    public func decodedFloats() throws -> [Float] {
        var out = [Float](repeating: 0, count: elementCount)
        try out.withUnsafeMutableBufferPointer { buffer in
            if let base = buffer.baseAddress { try decode(start: 0, count: elementCount, into: base) }
        }
        return out
    }

    /// The same values as an owned f32 tensor.
    public func decodedToF32() throws -> Tensor {
        if encoding == .f32 { return self }
        return try Tensor(shape: shape, floats: decodedFloats())
    }

    private func decodeBlocks(_ src: UnsafeRawPointer, _ count: Int, _ out: UnsafeMutablePointer<Float>,
                              _ codec: (UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void) {
        let bytes = encoding.blockBytes, n = encoding.blockElements
        for b in 0..<(count / n) { codec(src + b * bytes, out + b * n) }
    }

    /// CTranslate2 int8: w = q / scale[row], one scale per row of the first dimension.
    private func decodeInt8Rows(start: Int, count: Int, src: UnsafeRawPointer, out: UnsafeMutablePointer<Float>) {
        guard let scales = scales?.bytes.baseAddress, let rows = shape.first, rows > 0 else { return }
        let rowLength = elementCount / rows
        for i in 0..<count {
            let row = (start + i) / rowLength
            let scale = scales.loadUnaligned(fromByteOffset: 4 * row, as: Float.self)
            out[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) / scale
        }
    }
}
