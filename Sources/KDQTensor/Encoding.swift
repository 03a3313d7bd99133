/// How a tensor's elements are stored: plain numeric types, ggml's block-quantized layouts
/// (blocks of 32; the k-quants q6_K … q2_K in super-blocks of 256), or CTranslate2's int8
/// rows with one f32 scale per row; or none at all, for Whisper's sinusoidal positions, which
/// are computed from the shape.
public enum Encoding: String, CaseIterable, Sendable, Codable, Comparable {
    case f32, f16, bf16, f64
    case i8, i16, i32, i64, u8, bool
    case q4_0, q4_1, q5_0, q5_1, q8_0
    case q6_K, q5_K, q4_K, q3_K, q2_K
    /// int8 values with one f32 scale per row (`w = q / scale`), as CTranslate2 stores them.
    case int8Rows = "int8_rows"
    /// No bytes: the values are Whisper's sinusoidal position table for the shape (`Sinusoids`).
    case sinusoids

    /// Elements per block (1 for plain types).
    public var blockElements: Int {
        switch self {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        case .q6_K, .q5_K, .q4_K, .q3_K, .q2_K: return KQuantCodecs.superBlock
        default: return 1
        }
    }

    /// Bytes per block of `blockElements` elements (scales of `int8Rows` are stored separately).
    public var blockBytes: Int {
        switch self {
        case .f32, .i32: return 4
        case .f64, .i64: return 8
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool, .int8Rows: return 1
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q6_K: return 210
        case .q5_K: return 176
        case .q4_K: return 144
        case .q3_K: return 110
        case .q2_K: return 84
        case .sinusoids: return 0
        }
    }

    /// True for the lossy encodings that need a codec to turn into numbers.
    public var isQuantized: Bool {
        switch self {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q6_K, .q5_K, .q4_K, .q3_K, .q2_K, .int8Rows: return true
        default: return false
        }
    }

    /// True for ggml's block layouts (the 32-blocks and the k-quants).
    public var isGGMLBlock: Bool { isQuantized && self != .int8Rows }

    /// True when this encoding's blocks tile the rows of `shape` (`rowLength(of:)`); always for
    /// plain types. A matrix's rows are ggml's; a convolution's are its unfolded kernels.
    public func tilesRows(of shape: [Int]) -> Bool { Self.rowLength(of: shape) % blockElements == 0 }

    /// The values one row of `shape` holds: the product of the dimensions after the first (a
    /// matrix's columns, a convolution's input channels × kernel width, as its unfolded input
    /// multiplies them); a vector's whole length. 0 when the product overflows.
    public static func rowLength(of shape: [Int]) -> Int {
        guard shape.count >= 2 else { return shape.last ?? 0 }
        var n = 1
        for d in shape.dropFirst() {
            let (r, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return 0 }
            n = r
        }
        return n
    }

    /// True for the floating-point plain encodings.
    public var isFloat: Bool { self == .f32 || self == .f16 || self == .bf16 || self == .f64 }

    /// Bits per element, including block scales (but not `int8Rows` row scales).
    public var bitsPerElement: Double { Double(blockBytes * 8) / Double(blockElements) }

    /// The byte size of `elements` elements in this encoding; rejects counts that are not a whole
    /// number of blocks and sizes that overflow.
    public func byteCount(elements: Int) throws -> Int {
        guard elements >= 0 else { throw TensorError(.invalidShape, "negative element count \(elements)") }
        guard elements % blockElements == 0 else {
            throw TensorError(.invalidShape, "\(elements) elements is not a multiple of the \(rawValue) block size \(blockElements)")
        }
        return try Checked.multiply(elements / blockElements, blockBytes, "byte size of \(elements) \(rawValue) elements")
    }

    public static func < (a: Encoding, b: Encoding) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
