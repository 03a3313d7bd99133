/// The grid each value of an encoded ggml block lies on, read from the block's own scales:
/// value = (level − center) · step + offset, level in `levels` (the stored code; q8_0's signed
/// byte), computed in that order as the decoders compute it. With it a quantizer can keep a
/// block's scales and choose each value's level itself (`CompensatedQuantizer` rounds values
/// one at a time, each after the errors before it).
public struct ValueGrid: Equatable, Sendable {
    public let step: Float
    public let offset: Float
    public let levels: ClosedRange<Int>
    /// The level whose value is `offset`.
    public let center: Int

    public init(step: Float, offset: Float = 0, levels: ClosedRange<Int>, center: Int = 0) {
        self.step = step
        self.offset = offset
        self.levels = levels
        self.center = center
    }

    /// The level whose value is nearest to `x` (the center, clamped to the levels, for a zero
    /// step; the lowest level for a value that is not finite).
    @inline(__always) public func nearestLevel(_ x: Float) -> Int {
        guard step != 0 else { return Swift.max(levels.lowerBound, Swift.min(levels.upperBound, center)) }
        let q = ((x - offset) / step).rounded()
        guard q.isFinite else { return levels.lowerBound }
        return Swift.max(levels.lowerBound, Swift.min(levels.upperBound, center + Int(Swift.max(-512, Swift.min(512, q)))))
    }

    /// The value of `level`.
    @inline(__always) public func value(_ level: Int) -> Float { Float(level - center) * step + offset }
}

/// Reading each value's grid from, and writing each value's level into, blocks of the ggml
/// layouts `BlockCodecs` and `KQuantCodecs` decode.
public enum BlockGrid {
    /// The encodings whose blocks this reads and writes.
    public static let encodings: Set<Encoding> = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q6_K, .q5_K, .q4_K, .q3_K, .q2_K]

    /// The grid of value `i` (0 ..< `e.blockElements`) of the block at `b`.
    @inline(__always) public static func grid(_ e: Encoding, _ b: UnsafeRawPointer, value i: Int) -> ValueGrid {
        switch e {
        case .q4_0:
            return ValueGrid(step: BlockCodecs.half(b, 0), levels: 0...15, center: 8)
        case .q4_1:
            return ValueGrid(step: BlockCodecs.half(b, 0), offset: BlockCodecs.half(b, 2), levels: 0...15)
        case .q5_0:
            return ValueGrid(step: BlockCodecs.half(b, 0), levels: 0...31, center: 16)
        case .q5_1:
            return ValueGrid(step: BlockCodecs.half(b, 0), offset: BlockCodecs.half(b, 2), levels: 0...31)
        case .q8_0:
            return ValueGrid(step: BlockCodecs.half(b, 0), levels: -127...127)
        case .q6_K:
            return ValueGrid(step: BlockCodecs.half(b, 208) * Float(b.load(fromByteOffset: 192 + i / 16, as: Int8.self)), levels: 0...63, center: 32)
        case .q5_K, .q4_K:
            let (sc, m) = KQuantCodecs.scaleAndMin(b + 4, i / 32)
            return ValueGrid(step: BlockCodecs.half(b, 0) * Float(sc), offset: -(BlockCodecs.half(b, 2) * Float(m)), levels: 0...(e == .q4_K ? 15 : 31))
        case .q3_K:
            return ValueGrid(step: BlockCodecs.half(b, 108) * Float(KQuantCodecs.q3Scale(b + 96, i / 16)), levels: 0...7, center: 4)
        case .q2_K:
            let sc = b.load(fromByteOffset: i / 16, as: UInt8.self)
            return ValueGrid(step: BlockCodecs.half(b, 80) * Float(sc & 0x0F), offset: -BlockCodecs.half(b, 82) * Float(sc >> 4), levels: 0...3)
        default:
            return ValueGrid(step: 0, levels: 0...0)
        }
    }

    /// Stores `level` (within the value's grid's levels) as value `i`'s code in the block at `b`.
    @inline(__always) public static func setLevel(_ e: Encoding, _ b: UnsafeMutableRawPointer, value i: Int, _ level: Int) {
        switch e {
        case .q4_0: setNibble(b + 2, i, UInt8(level))
        case .q4_1: setNibble(b + 4, i, UInt8(level))
        case .q5_0:
            setNibble(b + 6, i, UInt8(level & 0x0F))
            setBit(b + 2 + i / 8, UInt8(i % 8), level >= 16)
        case .q5_1:
            setNibble(b + 8, i, UInt8(level & 0x0F))
            setBit(b + 4 + i / 8, UInt8(i % 8), level >= 16)
        case .q8_0:
            b.storeBytes(of: Int8(level), toByteOffset: 2 + i, as: Int8.self)
        case .q6_K:
            let (lowByte, lowShift, highByte, highShift) = KQuantCodecs.q6Position(i)
            setBits(b + lowByte, lowShift, width: 4, UInt8(level & 0x0F))
            setBits(b + highByte, highShift, width: 2, UInt8(level >> 4))
        case .q5_K:
            setBits(b + 48 + 32 * (i / 64) + i % 32, UInt8(4 * ((i / 32) % 2)), width: 4, UInt8(level & 0x0F))
            setBit(b + 16 + i % 32, UInt8(i / 32), level >= 16)
        case .q4_K:
            setBits(b + 16 + 32 * (i / 64) + i % 32, UInt8(4 * ((i / 32) % 2)), width: 4, UInt8(level))
        case .q3_K:
            setCrumb(b + 32, i, UInt8(level & 3))
            setBit(b + i % 32, UInt8(i / 32), level >= 4)
        case .q2_K:
            setCrumb(b + 16, i, UInt8(level))
        default:
            break
        }
    }

    /// Values that share one coded scale: a k-quant's sub-block (32 in q4_K and q5_K, else 16),
    /// else the whole block.
    public static func scaleGroup(_ e: Encoding) -> Int {
        switch e {
        case .q6_K, .q3_K, .q2_K: return KQuantizers.subBlock
        case .q5_K, .q4_K: return KQuantizers.wideSubBlock
        default: return e.blockElements
        }
    }

    /// Re-chooses the coded scale (and, for q2_K, q4_K and q5_K, minimum) of k-quant sub-block
    /// `k` of the super-block at `b` for its values `x` (error weights `w`, or all 1), on the
    /// super-block's own scales: the codes are tried (all of them; for q4_K and q5_K, whose 64 × 64
    /// pairs would be slow, those within two of the sub-block's own best fit) and the one whose
    /// grid rounds `x` with the smallest (weighted) squared error kept. The sub-block's levels
    /// are not rewritten. Other encodings have one scale per block: nothing to do.
    public static func refitSubBlock(_ e: Encoding, _ b: UnsafeMutableRawPointer, subBlock k: Int, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?) {
        switch e {
        case .q3_K:
            let d = BlockCodecs.half(b, 108)
            var best = (code: Int(KQuantCodecs.q3Scale(b + 96, k)), error: Double.infinity)
            for a in -32...31 {
                let error = KQuantizers.gridError(x, w, step: d * Float(a), offset: 0, levels: -4...3)
                if error < best.error { best = (a, error) }
            }
            setQ3Scale(b + 96, k, best.code)
        case .q2_K:
            let d = BlockCodecs.half(b, 80), dmin = BlockCodecs.half(b, 82)
            var best = (code: Int(b.load(fromByteOffset: k, as: UInt8.self)), error: Double.infinity)
            for a in 0...15 {
                for m in 0...15 {
                    let error = KQuantizers.gridError(x, w, step: d * Float(a), offset: -dmin * Float(m), levels: 0...3)
                    if error < best.error { best = (a | m << 4, error) }
                }
            }
            b.storeBytes(of: UInt8(best.code), toByteOffset: k, as: UInt8.self)
        case .q6_K:
            let d = BlockCodecs.half(b, 208)
            var best = (code: Int(b.load(fromByteOffset: 192 + k, as: Int8.self)), error: Double.infinity)
            for a in -128...127 {
                let error = KQuantizers.gridError(x, w, step: d * Float(a), offset: 0, levels: -32...31)
                if error < best.error { best = (a, error) }
            }
            b.storeBytes(of: Int8(best.code), toByteOffset: 192 + k, as: Int8.self)
        case .q5_K, .q4_K:
            let top = e == .q4_K ? 15 : 31, n = KQuantizers.wideSubBlock
            let d = BlockCodecs.half(b, 0), dmin = BlockCodecs.half(b, 2)
            let (scale, min) = KQuantizers.affineSearch(x, w, count: n, top: top)
            let sc = KQuantizers.code(scale, d, 0...63), mc = KQuantizers.code(min, dmin, 0...63)
            let (oldScale, oldMin) = KQuantCodecs.scaleAndMin(b + 4, k)
            var best = (scale: Int(oldScale), min: Int(oldMin), error: Double.infinity)
            for a in Swift.max(0, sc - 2)...Swift.min(63, sc + 2) {
                for m in Swift.max(0, mc - 2)...Swift.min(63, mc + 2) {
                    let error = KQuantizers.gridError(x, w, step: d * Float(a), offset: -(dmin * Float(m)), levels: 0...top, count: n)
                    if error < best.error { best = (a, m, error) }
                }
            }
            setScaleAndMin(b + 4, k, scale: best.scale, min: best.min)
        default:
            break
        }
    }

    /// Stores sub-block `k`'s 6-bit scale and min (0…63) in q4_K's and q5_K's 12 scale bytes
    /// at `s`, in the layout `KQuantCodecs.scaleAndMin` reads.
    static func setScaleAndMin(_ s: UnsafeMutableRawPointer, _ k: Int, scale: Int, min: Int) {
        let sc = UInt8(scale & 63), m = UInt8(min & 63)
        if k < 4 {
            setBits(s + k, 0, width: 6, sc)
            setBits(s + k + 4, 0, width: 6, m)
        } else {
            s.storeBytes(of: (sc & 0x0F) | (m & 0x0F) << 4, toByteOffset: k + 4, as: UInt8.self)
            setBits(s + k - 4, 6, width: 2, sc >> 4)
            setBits(s + k, 6, width: 2, m >> 4)
        }
    }

    /// Stores the low `width` bits of `v` at bit `shift` of the byte at `byte`.
    @inline(__always) static func setBits(_ byte: UnsafeMutableRawPointer, _ shift: UInt8, width: UInt8, _ v: UInt8) {
        let mask = UInt8((1 << Int(width)) - 1) << shift
        byte.storeBytes(of: byte.load(as: UInt8.self) & ~mask | (v << shift) & mask, as: UInt8.self)
    }

    /// Sub-block `k`'s q3_K scale code (−32…31) in the 12 scale bytes at `scales`, in the
    /// layout `KQuantCodecs.q3Scale` reads.
    static func setQ3Scale(_ scales: UnsafeMutableRawPointer, _ k: Int, _ code: Int) {
        let stored = UInt8(code + 32)
        let low = scales + k % 8, lowShift = UInt8(4 * (k / 8))
        low.storeBytes(of: low.load(as: UInt8.self) & ~(0x0F << lowShift) | (stored & 0x0F) << lowShift, as: UInt8.self)
        let high = scales + 8 + k % 4, highShift = UInt8(2 * (k / 4))
        high.storeBytes(of: high.load(as: UInt8.self) & ~(0x03 << highShift) | (stored >> 4) << highShift, as: UInt8.self)
    }

    /// Value `i` of a 32-value block's nibbles at `q`: the low nibble of byte i for i < 16,
    /// the high nibble of byte i − 16 otherwise.
    @inline(__always) static func setNibble(_ q: UnsafeMutableRawPointer, _ i: Int, _ v: UInt8) {
        let byte = q + i % 16, shift = UInt8(4 * (i / 16))
        byte.storeBytes(of: byte.load(as: UInt8.self) & ~(0x0F << shift) | (v & 0x0F) << shift, as: UInt8.self)
    }

    /// A k-quant value's two bits among the quant bytes at `quants`.
    @inline(__always) static func setCrumb(_ quants: UnsafeMutableRawPointer, _ i: Int, _ v: UInt8) {
        let byte = quants + KQuantCodecs.quantByte(i), shift = KQuantCodecs.crumbShift(i)
        byte.storeBytes(of: byte.load(as: UInt8.self) & ~(3 << shift) | (v & 3) << shift, as: UInt8.self)
    }

    @inline(__always) static func setBit(_ byte: UnsafeMutableRawPointer, _ bit: UInt8, _ on: Bool) {
        let old = byte.load(as: UInt8.self)
        byte.storeBytes(of: on ? old | 1 << bit : old & ~(1 << bit), as: UInt8.self)
    }
}
