/// kdq's encoders into ggml's k-quant layouts (`KQuantCodecs`). Each sub-block gets the
/// (weighted) least-squares scale (and, for q2_K, minimum) of the best of several candidate
/// grids; the sub-block scales are then coded on the super-block's scale, and each coded scale
/// and its neighbours are tried with the values re-rounded to the grid they give, the one with
/// the smallest (weighted) squared error kept. The layouts are ggml's, so the files load in
/// whisper.cpp; the bytes are kdq's own choice, not those of ggml's quantizer.
public enum KQuantizers {
    /// Sub-blocks per super-block and values per sub-block.
    static let subBlocks = 16, subBlock = 16

    /// q2_K: x ≈ scale·q − min, q in 0…3, scale and min ≥ 0 coded in 4 bits each.
    static func q2_K(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ out: UnsafeMutableRawPointer) {
        var scales = [Float](repeating: 0, count: subBlocks), mins = [Float](repeating: 0, count: subBlocks)
        for k in 0..<subBlocks {
            (scales[k], mins[k]) = affineFit(x + subBlock * k, w.map { $0 + subBlock * k })
        }
        let d = HalfPrecision.rounded((scales.max() ?? 0) / 15), dmin = HalfPrecision.rounded((mins.max() ?? 0) / 15)
        out.initializeMemory(as: UInt8.self, repeating: 0, count: 84)
        out.storeBytes(of: HalfPrecision.floatToF16(d), toByteOffset: 80, as: UInt16.self)
        out.storeBytes(of: HalfPrecision.floatToF16(dmin), toByteOffset: 82, as: UInt16.self)
        for k in 0..<subBlocks {
            let xs = x + subBlock * k, ws = w.map { $0 + subBlock * k }
            let sc = code(scales[k], d, 0...15), mc = code(mins[k], dmin, 0...15)
            var best = (sc, mc, Double.infinity)
            for a in max(0, sc - 1)...min(15, sc + 1) {
                for m in max(0, mc - 1)...min(15, mc + 1) {
                    let e = gridError(xs, ws, step: d * Float(a), offset: -dmin * Float(m), levels: 0...3)
                    if e < best.2 { best = (a, m, e) }
                }
            }
            out.storeBytes(of: UInt8(best.0 | best.1 << 4), toByteOffset: k, as: UInt8.self)
            let step = d * Float(best.0), offset = -dmin * Float(best.1)
            for i in 0..<subBlock {
                let q = nearest(xs[i], step: step, offset: offset, levels: 0...3)
                pack(UInt8(q), value: subBlock * k + i, quants: out + 16)
            }
        }
    }

    /// q3_K: x ≈ scale·q, q in −4…3, scale coded in 6 signed bits.
    static func q3_K(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ out: UnsafeMutableRawPointer) {
        let (d, codes) = symmetricCodes(x, w, n: 4, codes: 32)
        out.initializeMemory(as: UInt8.self, repeating: 0, count: 110)
        out.storeBytes(of: HalfPrecision.floatToF16(d), toByteOffset: 108, as: UInt16.self)
        for k in 0..<subBlocks {
            let xs = x + subBlock * k
            let stored = UInt8(codes[k] + 32)
            let low = out + 96 + k % 8, high = out + 104 + k % 4
            low.storeBytes(of: low.load(as: UInt8.self) | (stored & 0x0F) << UInt8(4 * (k / 8)), as: UInt8.self)
            high.storeBytes(of: high.load(as: UInt8.self) | (stored >> 4) << UInt8(2 * (k / 4)), as: UInt8.self)
            let step = d * Float(codes[k])
            for i in 0..<subBlock {
                let v = subBlock * k + i
                let u = nearest(xs[i], step: step, offset: 0, levels: -4...3) + 4
                pack(UInt8(u & 3), value: v, quants: out + 32)
                if u >= 4 {
                    let mask = out + v % 32
                    mask.storeBytes(of: mask.load(as: UInt8.self) | UInt8(1) << UInt8(v / 32), as: UInt8.self)
                }
            }
        }
    }

    /// Sub-blocks per super-block and values per sub-block of q4_K and q5_K.
    static let wideSubBlocks = 8, wideSubBlock = 32

    /// q4_K: x ≈ scale·q − min, q in 0…15, 8 sub-blocks of 32, scale and min ≥ 0 coded in 6 bits.
    static func q4_K(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ out: UnsafeMutableRawPointer) {
        affineSuperBlock(x, w, out, .q4_K)
    }

    /// q5_K: q4_K with q in 0…31 (a fifth bit per value).
    static func q5_K(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ out: UnsafeMutableRawPointer) {
        affineSuperBlock(x, w, out, .q5_K)
    }

    /// q4_K (levels 0…15) or q5_K (0…31): each sub-block's best affine grid, the scales and mins
    /// coded on the super-block's d and dmin (6 bits each), each code and its neighbours tried.
    static func affineSuperBlock(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ out: UnsafeMutableRawPointer, _ e: Encoding) {
        let n = wideSubBlock, bytes = e.blockBytes, top = e == .q4_K ? 15 : 31
        var scales = [Float](repeating: 0, count: wideSubBlocks), mins = [Float](repeating: 0, count: wideSubBlocks)
        for k in 0..<wideSubBlocks { (scales[k], mins[k]) = affineSearch(x + n * k, w.map { $0 + n * k }, count: n, top: top) }
        let d = HalfPrecision.rounded((scales.max() ?? 0) / 63), dmin = HalfPrecision.rounded((mins.max() ?? 0) / 63)
        out.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        out.storeBytes(of: HalfPrecision.floatToF16(d), toByteOffset: 0, as: UInt16.self)
        out.storeBytes(of: HalfPrecision.floatToF16(dmin), toByteOffset: 2, as: UInt16.self)
        let levels = 0...top
        for k in 0..<wideSubBlocks {
            let xs = x + n * k, ws = w.map { $0 + n * k }
            let sc = code(scales[k], d, 0...63), mc = code(mins[k], dmin, 0...63)
            var best = (sc, mc, Double.infinity)
            for a in max(0, sc - 1)...min(63, sc + 1) {
                for m in max(0, mc - 1)...min(63, mc + 1) {
                    let e = gridError(xs, ws, step: d * Float(a), offset: -dmin * Float(m), levels: levels, count: n)
                    if e < best.2 { best = (a, m, e) }
                }
            }
            BlockGrid.setScaleAndMin(out + 4, k, scale: best.0, min: best.1)
            let step = d * Float(best.0), offset = -dmin * Float(best.1)
            for i in 0..<n { BlockGrid.setLevel(e, out, value: n * k + i, nearest(xs[i], step: step, offset: offset, levels: levels)) }
        }
    }

    /// q6_K: x ≈ scale·q, q in −32…31, 16 sub-blocks of 16, scale coded in a signed byte.
    static func q6_K(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ out: UnsafeMutableRawPointer) {
        let (d, codes) = symmetricCodes(x, w, n: 32, codes: 128)
        out.initializeMemory(as: UInt8.self, repeating: 0, count: 210)
        out.storeBytes(of: HalfPrecision.floatToF16(d), toByteOffset: 208, as: UInt16.self)
        for k in 0..<subBlocks {
            let xs = x + subBlock * k
            out.storeBytes(of: Int8(codes[k]), toByteOffset: 192 + k, as: Int8.self)
            for i in 0..<subBlock {
                BlockGrid.setLevel(.q6_K, out, value: subBlock * k + i, nearest(xs[i], step: d * Float(codes[k]), offset: 0, levels: -32...31) + 32)
            }
        }
    }

    /// The super-block scale d and the 16 sub-block scale codes (−`codes` … `codes` − 1) of a
    /// symmetric k-quant, x ≈ d·code·q with q in −n…n − 1 (q3_K: n 4, codes 32; q6_K: n 32,
    /// codes 128): each sub-block's best scale, the one of largest magnitude at the negative
    /// end (as ggml), d rounded to f16, and each sub-block's code and its neighbours tried on
    /// that d, the one whose grid rounds the sub-block with the smallest (weighted) error kept.
    static func symmetricCodes(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, n: Int, codes: Int) -> (d: Float, codes: [Int]) {
        var scales = [Float](repeating: 0, count: subBlocks)
        for k in 0..<subBlocks { scales[k] = symmetricFit(x + subBlock * k, w.map { $0 + subBlock * k }, n: n) }
        var largest: Float = 0
        for s in scales where abs(s) > abs(largest) { largest = s }
        let d = HalfPrecision.rounded(-largest / Float(codes))
        let range = -codes...(codes - 1), levels = -n...(n - 1)
        let chosen = (0..<subBlocks).map { k -> Int in
            let xs = x + subBlock * k, ws = w.map { $0 + subBlock * k }
            let sc = code(scales[k], d, range)
            var best = (sc, Double.infinity)
            for a in max(range.lowerBound, sc - 1)...min(range.upperBound, sc + 1) {
                let e = gridError(xs, ws, step: d * Float(a), offset: 0, levels: levels)
                if e < best.1 { best = (a, e) }
            }
            return best.0
        }
        return (d, chosen)
    }

    /// The best (scale ≥ 0, min ≥ 0) for x ≈ scale·q − min, q in 0…3, over grids spanning
    /// shrunk ranges of the sub-block (which always includes 0, as min cannot be negative).
    static func affineFit(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?) -> (Float, Float) {
        var lo: Float = 0, hi = -Float.greatestFiniteMagnitude
        for i in 0..<subBlock { lo = min(lo, x[i]); hi = max(hi, x[i]) }
        guard hi > lo, lo.isFinite, hi.isFinite else { return (0, max(0, -lo)) }
        let range = hi - lo
        var best: (Float, Float, Double) = (range / 3, -lo, .infinity)
        var q = [Int32](repeating: 0, count: subBlock)
        for a in 0..<4 {
            for b in 0..<4 {
                let l = min(0, lo + Float(a) * 0.05 * range), h = hi - Float(b) * 0.05 * range
                guard h > l else { continue }
                for i in 0..<subBlock { q[i] = Int32(max(0, min(3, ((x[i] - l) / ((h - l) / 3)).rounded()))) }
                var (scale, offset) = SearchQuantizer.fit(x, w, q, count: subBlock, withMinimum: true)
                if offset > 0 { (scale, offset) = (SearchQuantizer.fit(x, w, q, count: subBlock, withMinimum: false).0, 0) }
                guard scale > 0 else { continue }
                let e = gridError(x, w, step: scale, offset: offset, levels: 0...3)
                if e < best.2 { best = (scale, -offset, e) }
            }
        }
        return (best.0, best.1)
    }

    /// The best signed scale for x ≈ scale·q, q in −n…n − 1 over a sub-block of 16 (the value
    /// of largest magnitude near −n): n = 4 for q3_K, 32 for q6_K.
    static func symmetricFit(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, n: Int = 4) -> Float {
        var amax: Float = 0, largest: Float = 0
        for i in 0..<subBlock where abs(x[i]) > amax { amax = abs(x[i]); largest = x[i] }
        guard amax > 0, amax.isFinite else { return 0 }
        let sign: Float = largest > 0 ? -1 : 1, levels = -n...(n - 1)
        var best: (Float, Double) = (-largest / Float(n), .infinity)
        var q = [Int32](repeating: 0, count: subBlock)
        for step in -8...8 {
            let iscale = sign * (Float(n) + Float(step) * 0.1) / amax
            for i in 0..<subBlock { q[i] = Int32(max(-n, min(n - 1, Int((x[i] * iscale).rounded())))) }
            let scale = SearchQuantizer.fit(x, w, q, count: subBlock, withMinimum: false).0
            guard scale != 0 else { continue }
            let e = gridError(x, w, step: scale, offset: 0, levels: levels)
            if e < best.1 { best = (scale, e) }
        }
        return best.0
    }

    /// The best (scale ≥ 0, min ≥ 0) for x ≈ scale·q − min, q in 0…`top`, over `count` values:
    /// grids from the values' range with 21 spacings around `top` steps per range (ggml's
    /// search for q4_K and q5_K), each refitted by weighted least squares.
    static func affineSearch(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, count: Int, top: Int) -> (Float, Float) {
        var lo: Float = 0, hi = -Float.greatestFiniteMagnitude
        for i in 0..<count { lo = min(lo, x[i]); hi = max(hi, x[i]) }
        guard hi > lo, lo.isFinite, hi.isFinite else { return (0, max(0, -lo)) }
        let levels = 0...top
        var best: (Float, Float, Double) = ((hi - lo) / Float(top), -lo, .infinity)
        var q = [Int32](repeating: 0, count: count)
        for step in 0...20 {
            let iscale = (Float(top) - 1 + 0.1 * Float(step)) / (hi - lo)
            for i in 0..<count { q[i] = Int32(max(0, min(top, Int(((x[i] - lo) * iscale).rounded())))) }
            var (scale, offset) = SearchQuantizer.fit(x, w, q, count: count, withMinimum: true)
            if offset > 0 { (scale, offset) = (SearchQuantizer.fit(x, w, q, count: count, withMinimum: false).0, 0) }
            guard scale > 0 else { continue }
            let e = gridError(x, w, step: scale, offset: offset, levels: levels, count: count)
            if e < best.2 { best = (scale, -offset, e) }
        }
        return (best.0, best.1)
    }

    /// `value / unit` rounded into `range` (0 when the unit is 0).
    static func code(_ value: Float, _ unit: Float, _ range: ClosedRange<Int>) -> Int {
        guard unit != 0, (value / unit).isFinite else { return max(range.lowerBound, min(range.upperBound, 0)) }
        return max(range.lowerBound, min(range.upperBound, Int((value / unit).rounded())))
    }

    /// The level of `levels` nearest to `x` on the grid offset + step·q.
    @inline(__always) static func nearest(_ x: Float, step: Float, offset: Float, levels: ClosedRange<Int>) -> Int {
        guard step != 0 else { return max(levels.lowerBound, min(levels.upperBound, 0)) }
        let q = ((x - offset) / step).rounded()
        guard q.isFinite else { return max(levels.lowerBound, min(levels.upperBound, 0)) }
        return max(levels.lowerBound, min(levels.upperBound, Int(max(-128, min(128, q)))))
    }

    /// The (weighted) squared error of a sub-block of `count` values rounded to the grid
    /// offset + step·q.
    static func gridError(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, step: Float, offset: Float, levels: ClosedRange<Int>,
                          count: Int = subBlock) -> Double {
        var e = 0.0
        for i in 0..<count {
            let q = nearest(x[i], step: step, offset: offset, levels: levels)
            let diff = Double(step * Float(q) + offset - x[i])
            e += Double(w?[i] ?? 1) * diff * diff
        }
        return e.isNaN ? .infinity : e
    }

    /// Sets value `v`'s two bits in the 64 quant bytes at `quants`.
    @inline(__always) static func pack(_ q: UInt8, value v: Int, quants: UnsafeMutableRawPointer) {
        let byte = quants + KQuantCodecs.quantByte(v)
        byte.storeBytes(of: byte.load(as: UInt8.self) | (q & 3) << KQuantCodecs.crumbShift(v), as: UInt8.self)
    }
}
