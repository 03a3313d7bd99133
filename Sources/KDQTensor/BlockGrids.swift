/// The values one element of a block-encoded row can take once its block's scales are fixed:
/// `step·q + offset` for the integer levels q in `lowest…highest`, computed in Float exactly as
/// the codec decodes them.
public struct ValueGrid: Sendable, Equatable {
    public var step: Float, offset: Float, lowest: Int32, highest: Int32

    public init(step: Float, offset: Float, lowest: Int32, highest: Int32) {
        self.step = step
        self.offset = offset
        self.lowest = lowest
        self.highest = highest
    }

    /// The level whose value is nearest to `x` (ties away from zero; the level nearest 0
    /// when the step is 0 or `x` is not finite).
    @inline(__always) public func level(_ x: Float) -> Int32 {
        let zero = Swift.max(lowest, Swift.min(highest, 0))
        guard step != 0 else { return zero }
        let q = ((x - offset) / step).rounded()
        guard q.isFinite else { return zero }
        return Int32(Swift.max(Float(lowest), Swift.min(Float(highest), q)))
    }

    /// The decoded value of level `q`.
    @inline(__always) public func value(_ q: Int32) -> Float { step * Float(q) + offset }
}

/// The grids of ggml's block layouts and the writing of new levels into a block whose scales
/// stay as they are: what an error-compensating quantizer needs to choose each value's level
/// itself on the grid another quantizer's scales define.
public enum BlockGrids {
    /// Writes the grid of each of the `e.blockElements` values of the block at `b` to `grids`;
    /// false for an encoding that is no ggml block layout.
    public static func grids(_ e: Encoding, _ b: UnsafeRawPointer, _ grids: UnsafeMutablePointer<ValueGrid>) -> Bool {
        let d: Float, m: Float
        switch e {
        case .q4_0: d = BlockCodecs.half(b, 0); m = 0
        case .q4_1, .q5_1: d = BlockCodecs.half(b, 0); m = BlockCodecs.half(b, 2)
        case .q5_0, .q8_0: d = BlockCodecs.half(b, 0); m = 0
        case .q2_K:
            let d = BlockCodecs.half(b, 80), dmin = BlockCodecs.half(b, 82)
            for k in 0..<16 {
                let sc = b.load(fromByteOffset: k, as: UInt8.self)
                let grid = ValueGrid(step: d * Float(sc & 0x0F), offset: -(dmin * Float(sc >> 4)), lowest: 0, highest: 3)
                for i in 0..<16 { grids[16 * k + i] = grid }
            }
            return true
        case .q3_K:
            let d = BlockCodecs.half(b, 108)
            for k in 0..<16 {
                let grid = ValueGrid(step: d * Float(KQuantCodecs.q3Scale(b + 96, k)), offset: 0, lowest: -4, highest: 3)
                for i in 0..<16 { grids[16 * k + i] = grid }
            }
            return true
        default: return false
        }
        let range: (Int32, Int32)
        switch e {
        case .q4_0: range = (-8, 7)
        case .q4_1: range = (0, 15)
        case .q5_0: range = (-16, 15)
        case .q5_1: range = (0, 31)
        default: range = (-127, 127)  // q8_0: as ggml's quantizer, never −128 (SIMD dot products negate it)
        }
        let grid = ValueGrid(step: d, offset: m, lowest: range.0, highest: range.1)
        for j in 0..<32 { grids[j] = grid }
        return true
    }

    /// Replaces the levels of the block at `b` by `levels` (each within its grid's range),
    /// keeping its scales; the block then decodes to `grid.value(level)` at every element.
    public static func write(_ e: Encoding, levels: UnsafePointer<Int32>, into b: UnsafeMutableRawPointer) {
        switch e {
        case .q4_0, .q4_1:
            let start = e == .q4_0 ? 2 : 4, bias: Int32 = e == .q4_0 ? 8 : 0
            for j in 0..<16 {
                let lo = UInt8(truncatingIfNeeded: levels[j] + bias) & 0x0F, hi = UInt8(truncatingIfNeeded: levels[j + 16] + bias) & 0x0F
                b.storeBytes(of: lo | hi << 4, toByteOffset: start + j, as: UInt8.self)
            }
        case .q5_0, .q5_1:
            let high = e == .q5_0 ? 2 : 4, bias: Int32 = e == .q5_0 ? 16 : 0
            var qh: UInt32 = 0
            for j in 0..<16 {
                let a = UInt32(truncatingIfNeeded: levels[j] + bias) & 0x1F, c = UInt32(truncatingIfNeeded: levels[j + 16] + bias) & 0x1F
                b.storeBytes(of: UInt8((a & 0x0F) | (c & 0x0F) << 4), toByteOffset: high + 4 + j, as: UInt8.self)
                qh |= (a >> 4) << UInt32(j) | (c >> 4) << UInt32(j + 16)
            }
            b.storeBytes(of: qh.littleEndian, toByteOffset: high, as: UInt32.self)
        case .q8_0:
            for j in 0..<32 { b.storeBytes(of: Int8(truncatingIfNeeded: levels[j]), toByteOffset: 2 + j, as: Int8.self) }
        case .q2_K:
            (b + 16).initializeMemory(as: UInt8.self, repeating: 0, count: 64)
            for v in 0..<256 { KQuantizers.pack(UInt8(truncatingIfNeeded: levels[v]), value: v, quants: b + 16) }
        case .q3_K:
            b.initializeMemory(as: UInt8.self, repeating: 0, count: 96)
            for v in 0..<256 {
                let u = levels[v] + 4
                KQuantizers.pack(UInt8(truncatingIfNeeded: u & 3), value: v, quants: b + 32)
                if u >= 4 {
                    let mask = b + v % 32
                    mask.storeBytes(of: mask.load(as: UInt8.self) | UInt8(1) << UInt8(v / 32), as: UInt8.self)
                }
            }
        default:
            break
        }
    }
}
