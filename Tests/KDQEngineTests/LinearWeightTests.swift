import KDQTensor
import KDQTestSupport
import Testing
@testable import KDQEngine

/// The engine's encoded weights: every encoding's matrix-vector and matrix-matrix products
/// (decoded tile by tile) against BLAS on the f32 values the same tensor decodes to, and the
/// embedding lookup of a single row.
@Suite struct LinearWeightTests {
    static let encodings: [Encoding] = [.f16, .bf16, .q8_0, .q6_K, .q5_1, .q5_K, .q5_0, .q4_1, .q4_K, .q4_0, .q3_K, .q2_K, .int8Rows]

    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var g = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float(Double(g.next() % 20_001) / 10_000 - 1) }
    }

    /// The largest |a − b| relative to the largest |b|.
    static func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
        let scale = b.map(abs).max() ?? 1
        return zip(a, b).map { abs($0 - $1) }.max().map { $0 / max(scale, 1e-30) } ?? 0
    }

    /// An encoded weight and the same values held as f32.
    static func pair(_ e: Encoding, rows: Int, columns: Int) throws -> (encoded: LinearWeight, dense: LinearWeight) {
        let t = try Tensor(shape: [rows, columns], floats: random(rows * columns, seed: 7)).converted(to: e)
        return (try LinearWeight(name: "w", tensor: t, keepEncoded: true), try LinearWeight(name: "w", tensor: t, keepEncoded: false))
    }

    // 37 rows of 512: more than one tile of a matrix-vector product, none of them full.
    @Test(arguments: encodings)
    func matrixVectorMatchesBLASOnTheDecodedValues(_ e: Encoding) throws {
        let (w, reference) = try Self.pair(e, rows: 37, columns: 512)
        #expect(w.residentBytes < reference.residentBytes || e == .f32, "the encoded weight holds fewer bytes than its f32 values")
        let x = Self.random(512, seed: 3), bias = Self.random(37, seed: 4)
        var y = [Float](repeating: 0, count: 37), expected = y
        try w.apply(x, 1, bias: bias, into: &y)
        try reference.apply(x, 1, bias: bias, into: &expected)
        let difference = Self.relativeDifference(y, expected)
        print("\(e.rawValue) matrix-vector: max relative difference \(difference)")
        #expect(difference < 1e-5, "\(e.rawValue): \(difference)")
    }

    // 4,100 rows of 512 (2.1 M values): two tiles of a matrix-matrix product.
    @Test(arguments: [Encoding.f16, .q8_0, .q4_0, .q4_K, .q3_K])
    func matrixMatrixMatchesBLASOnTheDecodedValues(_ e: Encoding) throws {
        let rows = 4_100, columns = 512, m = 5
        let (w, reference) = try Self.pair(e, rows: rows, columns: columns)
        let x = Self.random(m * columns, seed: 5)
        var y = [Float](repeating: 0, count: m * rows), expected = y
        try w.apply(x, m, bias: nil, into: &y)
        try reference.apply(x, m, bias: nil, into: &expected)
        let difference = Self.relativeDifference(y, expected)
        print("\(e.rawValue) matrix-matrix: max relative difference \(difference)")
        #expect(difference < 1e-5, "\(e.rawValue): \(difference)")
    }

    @Test(arguments: [Encoding.f16, .q5_0, .q2_K, .int8Rows])
    func aRowIsTheDecodedRow(_ e: Encoding) throws {
        let (w, reference) = try Self.pair(e, rows: 9, columns: 256)
        for r in [0, 4, 8] {
            var row = [Float](repeating: 0, count: 256), expected = row
            try w.row(r, into: &row)
            try reference.row(r, into: &expected)
            #expect(row == expected)
        }
        var row = [Float](repeating: 0, count: 256)
        #expect(throws: EngineError.self) { try w.row(9, into: &row) }
    }

    /// CKernels' k-quant decoders (the GEMM tiles') give bit for bit the values of KDQTensor's,
    /// on super-blocks of random bytes (every bit pattern of quants and scale codes) with finite
    /// f16 super-block scales.
    @Test(arguments: [(Encoding.q2_K, [80, 82]), (.q3_K, [108]), (.q4_K, [0, 2]), (.q5_K, [0, 2]), (.q6_K, [208])])
    func kQuantTilesDecodeAsTheTensorDoes(_ e: Encoding, _ scaleOffsets: [Int]) throws {
        var g = SplitMix64(seed: 11)
        let blocks = 64
        var bytes = (0..<(blocks * e.blockBytes)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        for b in 0..<blocks {
            for offset in scaleOffsets {
                let scale = Float16(Float(Int(g.next() % 2001) - 1000) * 1e-5)
                withUnsafeBytes(of: scale.bitPattern.littleEndian) { for k in 0..<2 { bytes[b * e.blockBytes + offset + k] = $0[k] } }
            }
        }
        let n = blocks * e.blockElements
        let expected = try Tensor(shape: [n], encoding: e, data: Storage(copying: bytes)).decodedFloats()
        let decode = try #require(LinearWeight.superBlockDecoder(e))
        var values = [Float](repeating: .nan, count: n)
        bytes.withUnsafeBytes { b in values.withUnsafeMutableBufferPointer { decode(b.baseAddress!, $0.baseAddress!, n) } }
        let differing = zip(values, expected).filter { $0.bitPattern != $1.bitPattern }.count
        print("\(e.rawValue): \(differing) of \(n) values differ from KDQTensor's decoder")
        #expect(differing == 0)
    }

    @Test func aReplacementIsUsedThenTheStoredValuesReturn() throws {
        let (w, _) = try Self.pair(.q4_0, rows: 4, columns: 32)
        let x = [Float](repeating: 1, count: 32)
        var before = [Float](repeating: 0, count: 4), during = before, after = before
        try w.apply(x, 1, bias: nil, into: &before)
        try w.withValues([Float](repeating: 0.5, count: 128)) { try w.apply(x, 1, bias: nil, into: &during) }
        try w.apply(x, 1, bias: nil, into: &after)
        #expect(during == [16, 16, 16, 16])
        #expect(after == before)
        #expect(throws: EngineError.self) { try w.withValues([1], {}) }
    }
}
