/// Encoders from f32 into the quantized layouts. Each writes exactly the bytes the original
/// tool would: ggml's reference quantizers (ggml-quants.c, `quantize_row_*_ref`) and
/// CTranslate2's int8 row quantization (`_quantize` in model_spec.py).
public enum Quantizers {
    /// C's float-to-int8 conversion (truncation toward zero) for the in-range values the
    /// quantizers produce; non-finite input (undefined in C) gives 0 instead of trapping.
    /// Clamping first keeps the conversion a plain truncating instruction (no libm call).
    @inline(__always) static func cInt8(_ f: Float) -> Int32 {
        guard f.isFinite else { return 0 }
        return Int32(Swift.max(-128, Swift.min(127, f)))
    }

    /// The value of largest magnitude, keeping its sign (the first one on ties).
    @inline(__always) static func signedAbsMax(_ x: UnsafePointer<Float>) -> Float {
        var amax: Float = 0, max: Float = 0
        for j in 0..<32 where amax < abs(x[j]) { amax = abs(x[j]); max = x[j] }
        return max
    }

    /// The header of the min-based types (q4_1, q5_1): d = (max − min) / levels and m = min as
    /// f16 at the block's start; returns the min and 1/d (0 for a constant block).
    @inline(__always) static func minScaleHeader(_ x: UnsafePointer<Float>, levels: Float, _ out: UnsafeMutableRawPointer) -> (Float, Float) {
        var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
        for j in 0..<32 {
            if x[j] < lo { lo = x[j] }
            if x[j] > hi { hi = x[j] }
        }
        let d = (hi - lo) / levels
        out.storeBytes(of: HalfPrecision.floatToF16(d), toByteOffset: 0, as: UInt16.self)
        out.storeBytes(of: HalfPrecision.floatToF16(lo), toByteOffset: 2, as: UInt16.self)
        return (lo, d != 0 ? 1 / d : 0)
    }

    /// q4_0: d = max / -8 (max the signed value of largest magnitude), q = min(15, trunc(x/d + 8.5)).
    static func q4_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        let d = signedAbsMax(x) / -8
        let id: Float = d != 0 ? 1 / d : 0
        out.storeBytes(of: HalfPrecision.floatToF16(d), toByteOffset: 0, as: UInt16.self)
        for j in 0..<16 {
            let lo = UInt8(Swift.min(15, cInt8(x[j] * id + 8.5))), hi = UInt8(Swift.min(15, cInt8(x[j + 16] * id + 8.5)))
            out.storeBytes(of: lo | hi << 4, toByteOffset: 2 + j, as: UInt8.self)
        }
    }

    /// q4_1: d = (max − min) / 15, m = min, q = min(15, trunc((x − min)/d + 0.5)).
    static func q4_1(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        let (lo, id) = minScaleHeader(x, levels: 15, out)
        for j in 0..<16 {
            let a = UInt8(Swift.min(15, cInt8((x[j] - lo) * id + 0.5))), b = UInt8(Swift.min(15, cInt8((x[j + 16] - lo) * id + 0.5)))
            out.storeBytes(of: a | b << 4, toByteOffset: 4 + j, as: UInt8.self)
        }
    }

    /// q5_0: d = max / -16, q = min(31, trunc(x/d + 16.5)); the fifth bits go to qh.
    static func q5_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        let d = signedAbsMax(x) / -16
        let id: Float = d != 0 ? 1 / d : 0
        out.storeBytes(of: HalfPrecision.floatToF16(d), toByteOffset: 0, as: UInt16.self)
        var qh: UInt32 = 0
        for j in 0..<16 {
            let a = UInt32(Swift.min(31, cInt8(x[j] * id + 16.5))), b = UInt32(Swift.min(31, cInt8(x[j + 16] * id + 16.5)))
            out.storeBytes(of: UInt8((a & 0x0F) | (b & 0x0F) << 4), toByteOffset: 6 + j, as: UInt8.self)
            qh |= ((a & 0x10) >> 4) << UInt32(j)
            qh |= ((b & 0x10) >> 4) << UInt32(j + 16)
        }
        out.storeBytes(of: qh.littleEndian, toByteOffset: 2, as: UInt32.self)
    }

    /// q5_1: d = (max − min) / 31, m = min, q = trunc((x − min)/d + 0.5); fifth bits in qh.
    static func q5_1(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        let (lo, id) = minScaleHeader(x, levels: 31, out)
        var qh: UInt32 = 0
        for j in 0..<16 {
            let a = UInt32(UInt8(truncatingIfNeeded: cInt8((x[j] - lo) * id + 0.5)))
            let b = UInt32(UInt8(truncatingIfNeeded: cInt8((x[j + 16] - lo) * id + 0.5)))
            out.storeBytes(of: UInt8((a & 0x0F) | (b & 0x0F) << 4), toByteOffset: 8 + j, as: UInt8.self)
            qh |= ((a & 0x10) >> 4) << UInt32(j)
            qh |= ((b & 0x10) >> 4) << UInt32(j + 16)
        }
        out.storeBytes(of: qh.littleEndian, toByteOffset: 4, as: UInt32.self)
    }

    /// The block encoder for a ggml block encoding.
    static func blockEncoder(_ e: Encoding) -> ((UnsafePointer<Float>, UnsafeMutableRawPointer) -> Void)? {
        switch e {
        case .q4_0: return q4_0
        case .q4_1: return q4_1
        case .q5_0: return q5_0
        case .q5_1: return q5_1
        case .q8_0: return q8_0
        default: return nil
        }
    }

    /// q8_0: d = max|x| / 127, q = round(x / d) (half away from zero, as C's roundf), d stored
    /// as f16. roundf is a truncation plus a step away from zero where the dropped fraction is
    /// at least one half (exact for |x/d| ≤ 127), which needs no libm call.
    static func q8_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 { amax = Swift.max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        out.storeBytes(of: HalfPrecision.floatToF16(d), toByteOffset: 0, as: UInt16.self)
        for j in 0..<32 {
            let v = Swift.max(-127, Swift.min(127, x[j] * id))  // in range already; the clamp keeps non-finite input from trapping
            let q = Int32(v)
            let fraction = v - Float(q)
            let rounded = q + (fraction >= 0.5 ? 1 : 0) - (fraction <= -0.5 ? 1 : 0)
            out.storeBytes(of: Int8(truncatingIfNeeded: rounded), toByteOffset: 2 + j, as: Int8.self)
        }
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
