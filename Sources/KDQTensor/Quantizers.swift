/// Encoders from f32 into the quantized layouts. Each writes exactly the bytes the original
/// tool would: ggml's reference quantizers (ggml-quants.c, `quantize_row_*_ref`) and
/// CTranslate2's int8 row quantization (`_quantize` in model_spec.py).
public enum Quantizers {
    /// q8_0: d = max|x| / 127, q = round(x / d) (half away from zero), d stored as f16.
    static func q8_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 { amax = Swift.max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        out.storeBytes(of: HalfPrecision.floatToF16(d), toByteOffset: 0, as: UInt16.self)
        for j in 0..<32 { out.storeBytes(of: Int8((x[j] * id).rounded()), toByteOffset: 2 + j, as: Int8.self) }
    }

    /// CTranslate2 int8 rows: scale = 127 / max|row| (1 for an all-zero row), q = rint(w · scale).
    static func int8Row(_ x: UnsafePointer<Float>, _ n: Int, _ out: UnsafeMutablePointer<Int8>) -> Float {
        var amax: Float = 0
        for j in 0..<n { amax = Swift.max(amax, abs(x[j])) }
        let scale: Float = amax == 0 ? 1 : 127 / amax
        for j in 0..<n { out[j] = Int8((x[j] * scale).rounded(.toNearestOrEven)) }
        return scale
    }
}
