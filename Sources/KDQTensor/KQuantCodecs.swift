/// Dequantization of ggml's k-quant layouts (ggml-common.h `block_q2_K`, `block_q3_K`;
/// `dequantize_row_q2_K` / `_q3_K` in ggml-quants.c): super-blocks of 256 values in 16
/// sub-blocks of 16, each sub-block with its own small scale. Each function reads one
/// super-block at `b` and writes 256 floats to `y`.
///
/// Value `i` of a super-block sits in half `i / 128`, crumb `j = (i % 128) / 32` (bits `2j`,
/// `2j + 1` of its quant byte) and column `s = i % 32` of that half: quant byte `32·half + s`.
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
