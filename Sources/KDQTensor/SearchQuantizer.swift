/// Better-than-round-to-nearest encoders for the ggml block types: for each block, several
/// candidate scales (and, for q4_1/q5_1, ranges) are tried, each refitted by (weighted) least
/// squares for its levels, and the candidate whose decoded block has the smallest (weighted)
/// squared error is kept. whisper.cpp's own round-to-nearest result is always a candidate, so
/// a block is never worse than with whisper.cpp's quantizer, and every block uses the same
/// layout, so the files still load in whisper.cpp.
public enum SearchQuantizer {
    /// Work buffers reused from block to block by one thread.
    final class Scratch {
        let decoded = UnsafeMutablePointer<Float>.allocate(capacity: 32)
        var levels = [Int32](repeating: 0, count: 32)
        deinit { decoded.deallocate() }
    }

    /// Encodes the block of 32 values at `x` (weights `w`, or all 1) into `out`.
    static func encode(_ e: Encoding, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ out: UnsafeMutableRawPointer,
                       scratch: Scratch) {
        guard let reference = Quantizers.blockEncoder(e) else { return }
        let decoded = scratch.decoded
        reference(x, out)
        var best = error(e, out, x, w, decoded)
        var bestD: Float = 0, bestM: Float = 0
        var found = false
        var levels = scratch.levels
        defer { scratch.levels = levels }
        var bestLevels = [Int32](repeating: 0, count: 32)
        /// The error of a candidate as the decoder will see it: d and m rounded to f16, then
        /// x̂ = L·d (+ m) in float, exactly as BlockCodecs computes it.
        func consider(_ d: Float, _ m: Float) {
            let d16 = HalfPrecision.rounded(d), m16 = HalfPrecision.rounded(m)
            guard d16.isFinite, m16.isFinite else { return }
            var err = 0.0
            for j in 0..<32 {
                let v = Float(levels[j]) * d16 + m16
                let diff = Double(v - x[j])
                err += Double(w?[j] ?? 1) * diff * diff
                if err >= best { return }
            }
            best = err
            bestD = d
            bestM = m
            bestLevels = levels
            found = true
        }
        switch e {
        case .q4_0, .q5_0, .q8_0:
            let (lo, hi): (Int32, Int32) = e == .q8_0 ? (-127, 127) : (e == .q4_0 ? (-8, 7) : (-16, 15))
            var amax: Float = 0, max: Float = 0
            for j in 0..<32 where abs(x[j]) > amax { amax = abs(x[j]); max = x[j] }
            guard amax > 0 else { return }
            // As the reference quantizer, the value of largest magnitude goes to the negative end.
            let sign: Float = max > 0 ? -1 : 1
            let steps = e == .q8_0 ? 6 : 10
            for step in -steps...steps {
                let target = Float(e == .q8_0 ? 127 : -lo) + Float(step) * (e == .q8_0 ? 0.5 : 0.1)
                let iscale = sign * target / amax
                for j in 0..<32 { levels[j] = Swift.max(lo, Swift.min(hi, Int32((x[j] * iscale).rounded()))) }
                let (d, _) = fit(x, w, levels, withMinimum: false)
                if d != 0 { consider(d, 0) }
            }
        case .q4_1, .q5_1:
            let top: Int32 = e == .q4_1 ? 15 : 31
            var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
            for j in 0..<32 { lo = Swift.min(lo, x[j]); hi = Swift.max(hi, x[j]) }
            let range = hi - lo
            guard range > 0 else { return }
            for a in 0..<5 {
                for b in 0..<5 {
                    let l = lo + Float(a) * 0.03 * range, h = hi - Float(b) * 0.03 * range
                    let scale = (h - l) / Float(top)
                    guard scale > 0 else { continue }
                    for j in 0..<32 { levels[j] = Swift.max(0, Swift.min(top, Int32(((x[j] - l) / scale).rounded()))) }
                    let (d, m) = fit(x, w, levels, withMinimum: true)
                    if d > 0 { consider(d, m) }
                }
            }
        default:
            return
        }
        if found { pack(e, bestD, bestM, bestLevels, out) }
    }

    /// Least-squares d (and m) for x ≈ d·L (+ m), weighted, over the first `count` values.
    static func fit(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ L: [Int32], count: Int = 32, withMinimum: Bool) -> (Float, Float) {
        var sLL = 0.0, sL = 0.0, s1 = 0.0, sxL = 0.0, sx = 0.0
        for j in 0..<count {
            let wj = Double(w?[j] ?? 1), l = Double(L[j]), xj = Double(x[j])
            sLL += wj * l * l; sL += wj * l; s1 += wj; sxL += wj * xj * l; sx += wj * xj
        }
        guard withMinimum else { return (sLL > 0 ? Float(sxL / sLL) : 0, 0) }
        let det = sLL * s1 - sL * sL
        guard abs(det) > 1e-20 else { return (0, 0) }
        return (Float((sxL * s1 - sL * sx) / det), Float((sLL * sx - sL * sxL) / det))
    }

    /// Writes a block with scale `d`, minimum `m` (q4_1, q5_1) and levels L (signed for the
    /// symmetric types).
    static func pack(_ e: Encoding, _ d: Float, _ m: Float, _ L: [Int32], _ out: UnsafeMutableRawPointer) {
        out.storeBytes(of: HalfPrecision.floatToF16(d), toByteOffset: 0, as: UInt16.self)
        switch e {
        case .q8_0:
            for j in 0..<32 { out.storeBytes(of: Int8(L[j]), toByteOffset: 2 + j, as: Int8.self) }
        case .q4_0, .q4_1:
            let offset: Int32 = e == .q4_0 ? 8 : 0
            let start = e == .q4_0 ? 2 : 4
            if e == .q4_1 { out.storeBytes(of: HalfPrecision.floatToF16(m), toByteOffset: 2, as: UInt16.self) }
            for j in 0..<16 {
                out.storeBytes(of: UInt8(L[j] + offset) | UInt8(L[j + 16] + offset) << 4, toByteOffset: start + j, as: UInt8.self)
            }
        case .q5_0, .q5_1:
            let offset: Int32 = e == .q5_0 ? 16 : 0
            let qhAt = e == .q5_0 ? 2 : 4
            if e == .q5_1 { out.storeBytes(of: HalfPrecision.floatToF16(m), toByteOffset: 2, as: UInt16.self) }
            var qh: UInt32 = 0
            for j in 0..<16 {
                let a = UInt32(L[j] + offset), b = UInt32(L[j + 16] + offset)
                out.storeBytes(of: UInt8((a & 0x0F) | (b & 0x0F) << 4), toByteOffset: qhAt + 4 + j, as: UInt8.self)
                qh |= ((a & 0x10) >> 4) << UInt32(j)
                qh |= ((b & 0x10) >> 4) << UInt32(j + 16)
            }
            out.storeBytes(of: qh.littleEndian, toByteOffset: qhAt, as: UInt32.self)
        default:
            return
        }
    }

    /// The (weighted) squared error of the block at `block` against `x`.
    static func error(_ e: Encoding, _ block: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?,
                      _ decoded: UnsafeMutablePointer<Float>) -> Double {
        switch e {
        case .q4_0: BlockCodecs.q4_0(block, decoded)
        case .q4_1: BlockCodecs.q4_1(block, decoded)
        case .q5_0: BlockCodecs.q5_0(block, decoded)
        case .q5_1: BlockCodecs.q5_1(block, decoded)
        case .q8_0: BlockCodecs.q8_0(block, decoded)
        default: return .infinity
        }
        var err = 0.0
        for j in 0..<32 {
            let diff = Double(decoded[j] - x[j])
            err += Double(w?[j] ?? 1) * diff * diff
        }
        return err.isNaN ? .infinity : err
    }
}
