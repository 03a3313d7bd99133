/// Dequantization of ggml's k-quant layouts (ggml-common.h `block_q2_K` … `block_q6_K`;
/// `dequantize_row_q2_K` … `_q6_K` in ggml-quants.c): super-blocks of 256 values in sub-blocks
/// (16 of 16 for q2_K, q3_K and q6_K; 8 of 32 for q4_K and q5_K), each sub-block with its own
/// small scale coded on the super-block's. Each function reads one super-block at `b` and
/// writes 256 floats to `y`.
///
/// In q2_K and q3_K, value `i` sits in half `i / 128`, crumb `j = (i % 128) / 32` (bits `2j`,
/// `2j + 1` of its quant byte) and column `s = i % 32` of that half: quant byte `32·half + s`.
/// In q4_K and q5_K, value `i` is the low (even sub-block `i / 32`) or high (odd) nibble of
/// quant byte `32·(i / 64) + i % 32`; q5_K's fifth bit is bit `i / 32` of byte `i % 32` of its
/// high bits, as q3_K's.
enum KQuantCodecs {
    static let superBlock = 256

    /// q2_K (84 bytes): 16 bytes of 4-bit scale | 4-bit min per sub-block, 64 bytes of 2-bit
    /// quants, f16 d, f16 dmin; y = d·scale·q − dmin·min.
    static func q2_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = BlockCodecs.half(b, 80), dmin = BlockCodecs.half(b, 82)
        // ggml's order: per half of 128 values, four 2-bit planes of 32 (two sub-blocks each).
        for half in 0..<2 {
            let q = b + 16 + 32 * half
            for plane in 0..<4 {
                let shift = UInt8(2 * plane)
                for part in 0..<2 {
                    let k = 8 * half + 2 * plane + part
                    let sc = b.load(fromByteOffset: k, as: UInt8.self)
                    let dl = d * Float(sc & 0x0F), ml = dmin * Float(sc >> 4)
                    let out = y + 16 * k
                    for l in 0..<16 { out[l] = dl * Float((q.load(fromByteOffset: 16 * part + l, as: UInt8.self) >> shift) & 3) - ml }
                }
            }
        }
    }

    /// q3_K (110 bytes): 32 bytes of high bits, 64 bytes of 2-bit quants, 12 bytes of 6-bit
    /// signed scales (offset 32), f16 d; y = d·scale·(q − 4·(1 − high bit)).
    static func q3_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = BlockCodecs.half(b, 108)
        // ggml's order: per half of 128 values, four 2-bit planes of 32 (two sub-blocks each);
        // value 128·half + 32·plane + l has its high bit at bit 4·half + plane of byte l.
        for half in 0..<2 {
            let q = b + 32 + 32 * half
            for plane in 0..<4 {
                let shift = UInt8(2 * plane), bit = UInt8(4 * half + plane)
                for part in 0..<2 {
                    let k = 8 * half + 2 * plane + part
                    let dl = d * Float(q3Scale(b + 96, k))
                    let out = y + 16 * k
                    for l in 16 * part..<16 * part + 16 {
                        let low = Int32((q.load(fromByteOffset: l, as: UInt8.self) >> shift) & 3)
                        let high = Int32((b.load(fromByteOffset: l, as: UInt8.self) >> bit) & 1)
                        out[l - 16 * part] = dl * Float(low - 4 + 4 * high)
                    }
                }
            }
        }
    }

    /// q4_K (144 bytes): f16 d, f16 dmin, 12 bytes of 6-bit scales and mins for 8 sub-blocks of
    /// 32, 128 bytes of 4-bit quants; y = d·scale·q − dmin·min.
    static func q4_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = BlockCodecs.half(b, 0), dmin = BlockCodecs.half(b, 2)
        for k in 0..<8 {
            let (sc, m) = scaleAndMin(b + 4, k)
            let dl = d * Float(sc), ml = dmin * Float(m)
            let q = b + 16 + 32 * (k / 2), shift = UInt8(4 * (k % 2))
            let out = y + 32 * k
            for l in 0..<32 { out[l] = dl * Float((q.load(fromByteOffset: l, as: UInt8.self) >> shift) & 0x0F) - ml }
        }
    }

    /// q5_K (176 bytes): q4_K's d, dmin and scales, 32 bytes of high bits, 128 bytes of low
    /// nibbles; y = d·scale·q − dmin·min with q in 0…31.
    static func q5_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = BlockCodecs.half(b, 0), dmin = BlockCodecs.half(b, 2)
        for k in 0..<8 {
            let (sc, m) = scaleAndMin(b + 4, k)
            let dl = d * Float(sc), ml = dmin * Float(m)
            let q = b + 48 + 32 * (k / 2), shift = UInt8(4 * (k % 2)), bit = UInt8(k)
            let out = y + 32 * k
            for l in 0..<32 {
                let low = (q.load(fromByteOffset: l, as: UInt8.self) >> shift) & 0x0F
                let high = (b.load(fromByteOffset: 16 + l, as: UInt8.self) >> bit) & 1
                out[l] = dl * Float(low | high << 4) - ml
            }
        }
    }

    /// q6_K (210 bytes): 128 bytes of low nibbles, 64 bytes of 2-bit high parts, 16 signed
    /// 8-bit scales (one per sub-block of 16), f16 d; y = d·scale·(q − 32), q in 0…63.
    static func q6_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = BlockCodecs.half(b, 208)
        for i in 0..<superBlock {
            let scale = Float(b.load(fromByteOffset: 192 + i / 16, as: Int8.self))
            y[i] = d * scale * Float(q6Level(b, i) - 32)
        }
    }

    /// Value `i`'s 6-bit code in a q6_K super-block: within its half of 128 (64 low-nibble bytes
    /// and 32 high bytes), quarter `j = (i % 128) / 32` holds its low nibble in byte
    /// `i % 32 + 32·(j % 2)` (high nibble for j ≥ 2) and its two high bits at bit 2j of high
    /// byte `i % 32`.
    @inline(__always) static func q6Level(_ b: UnsafeRawPointer, _ i: Int) -> Int32 {
        let (lowByte, lowShift, highByte, highShift) = q6Position(i)
        let low = (b.load(fromByteOffset: lowByte, as: UInt8.self) >> lowShift) & 0x0F
        let high = (b.load(fromByteOffset: highByte, as: UInt8.self) >> highShift) & 0x03
        return Int32(low | high << 4)
    }

    /// Where value `i`'s low nibble and high bits sit in a q6_K super-block (byte offsets
    /// from its start, shifts within the bytes).
    @inline(__always) static func q6Position(_ i: Int) -> (Int, UInt8, Int, UInt8) {
        let half = i / 128, j = (i % 128) / 32, l = i % 32
        return (64 * half + l + 32 * (j % 2), UInt8(4 * (j / 2)), 128 + 32 * half + l, UInt8(2 * j))
    }

    /// Sub-block `k`'s 6-bit scale and min (0…63) in q4_K's and q5_K's 12 scale bytes
    /// (ggml's `get_scale_min_k4`): for k < 4 the low 6 bits of bytes k and k + 4; for k ≥ 4
    /// the nibbles of byte k + 4 with the top two bits of bytes k − 4 and k.
    @inline(__always) static func scaleAndMin(_ s: UnsafeRawPointer, _ k: Int) -> (UInt8, UInt8) {
        func byte(_ o: Int) -> UInt8 { s.load(fromByteOffset: o, as: UInt8.self) }
        if k < 4 { return (byte(k) & 63, byte(k + 4) & 63) }
        return ((byte(k + 4) & 0x0F) | (byte(k - 4) >> 6) << 4, (byte(k + 4) >> 4) | (byte(k) >> 6) << 4)
    }

    /// The quant byte (within the quants) holding value `i`.
    @inline(__always) static func quantByte(_ i: Int) -> Int { 32 * (i / 128) + i % 32 }

    /// Where value `i`'s two bits sit in its quant byte.
    @inline(__always) static func crumbShift(_ i: Int) -> UInt8 { UInt8(2 * ((i % 128) / 32)) }

    /// Sub-block `k`'s q3_K scale, −32…31: its low 4 bits in byte `k % 8` (upper nibble for
    /// k ≥ 8), its high 2 bits in byte `8 + k % 4` at bit `2·(k / 4)`.
    @inline(__always) static func q3Scale(_ scales: UnsafeRawPointer, _ k: Int) -> Int32 {
        let low = (scales.load(fromByteOffset: k % 8, as: UInt8.self) >> UInt8(4 * (k / 8))) & 0x0F
        let high = (scales.load(fromByteOffset: 8 + k % 4, as: UInt8.self) >> UInt8(2 * (k / 4))) & 0x03
        return Int32(low | high << 4) - 32
    }
}
