/// Dequantization of ggml's block layouts (ggml-common.h / ggml-quants.c), one block of 32 at a time.
/// Each function reads one block at `b` and writes 32 floats to `y`.
enum BlockCodecs {
    /// The f16 at byte `offset` of `b`, through the lookup table (without F16C in the build,
    /// a conversion is a call into compiler-rt).
    @inline(__always) static func half(_ b: UnsafeRawPointer, _ offset: Int) -> Float {
        HalfPrecision.f16Lookup[Int(b.loadUnaligned(fromByteOffset: offset, as: UInt16.self))]
    }

    /// q4_0: f16 d, 16 bytes of nibbles; y = (q - 8) · d.
    static func q4_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        for j in 0..<16 {
            let q = b.load(fromByteOffset: 2 + j, as: UInt8.self)
            y[j] = Float(Int32(q & 0x0F) - 8) * d
            y[j + 16] = Float(Int32(q >> 4) - 8) * d
        }
    }

    /// q4_1: f16 d, f16 m, 16 bytes of nibbles; y = q · d + m.
    static func q4_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), m = half(b, 2)
        for j in 0..<16 {
            let q = b.load(fromByteOffset: 4 + j, as: UInt8.self)
            y[j] = Float(q & 0x0F) * d + m
            y[j + 16] = Float(q >> 4) * d + m
        }
    }

    /// q5_0: f16 d, u32 high bits, 16 bytes of nibbles; y = (q - 16) · d.
    static func q5_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        let qh = b.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        for j in 0..<16 {
            let q = UInt32(b.load(fromByteOffset: 6 + j, as: UInt8.self))
            let h0 = ((qh >> UInt32(j)) << 4) & 0x10
            let h1 = (qh >> UInt32(j + 12)) & 0x10
            y[j] = Float(Int32((q & 0x0F) | h0) - 16) * d
            y[j + 16] = Float(Int32((q >> 4) | h1) - 16) * d
        }
    }

    /// q5_1: f16 d, f16 m, u32 high bits, 16 bytes of nibbles; y = q · d + m.
    static func q5_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), m = half(b, 2)
        let qh = b.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        for j in 0..<16 {
            let q = UInt32(b.load(fromByteOffset: 8 + j, as: UInt8.self))
            let h0 = ((qh >> UInt32(j)) << 4) & 0x10
            let h1 = (qh >> UInt32(j + 12)) & 0x10
            y[j] = Float((q & 0x0F) | h0) * d + m
            y[j + 16] = Float((q >> 4) | h1) * d + m
        }
    }

    /// q8_0: f16 d, 32 signed bytes; y = q · d.
    static func q8_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        for j in 0..<32 { y[j] = Float(b.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
    }
}
