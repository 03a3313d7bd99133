/// Conversions between IEEE half / bfloat16 bit patterns and `Float`.
public enum HalfPrecision {
    /// Every f16 bit pattern's exact f32 value: a 256 KiB table that turns decoding into one load.
    static let f16Table: [Float] = (0...0xFFFF).map { Float(Float16(bitPattern: UInt16($0))) }
    /// `f16Table`'s storage, for lookups without bounds checks or array retains in hot loops.
    static let f16Lookup: UnsafePointer<Float> = {
        let table = UnsafeMutablePointer<Float>.allocate(capacity: 0x10000)
        for i in 0..<0x10000 { table[i] = f16Table[i] }
        return UnsafePointer(table)
    }()

    /// The f32 value of an f16 bit pattern.
    @inlinable public static func f16ToFloat(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }

    /// The f16 bit pattern nearest to `value` (round to nearest even, as numpy and torch do).
    @inlinable public static func floatToF16(_ value: Float) -> UInt16 { Float16(value).bitPattern }

    /// `value` rounded to the nearest f16, as f32.
    @inlinable public static func rounded(_ value: Float) -> Float { Float(Float16(value)) }

    /// The f32 value of a bfloat16 bit pattern.
    @inlinable public static func bf16ToFloat(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// The bfloat16 bit pattern nearest to `value` (round to nearest even; NaN stays NaN).
    @inlinable public static func floatToBF16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(bits >> 16) | 0x0040 }
        return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// Decodes `count` f16 values at `source` into `out`.
    static func decodeF16(_ source: UnsafeRawPointer, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        f16Table.withUnsafeBufferPointer { table in
            let t = table.baseAddress!
            for i in 0..<count { out[i] = t[Int(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))] }
        }
    }
}
