import Testing
@testable import KDQTensor

@Suite struct EncodingTests {
    @Test func blockSizesMatchGGML() {
        #expect(Encoding.q4_0.blockBytes == 18)
        #expect(Encoding.q4_1.blockBytes == 20)
        #expect(Encoding.q5_0.blockBytes == 22)
        #expect(Encoding.q5_1.blockBytes == 24)
        #expect(Encoding.q8_0.blockBytes == 34)
        #expect(Encoding.q4_0.bitsPerElement == 4.5)
    }

    @Test func byteCountRejectsPartialBlocks() {
        #expect(throws: TensorError.self) { try Encoding.q4_0.byteCount(elements: 33) }
    }

    @Test func byteCountRejectsOverflow() {
        #expect(throws: TensorError.self) { try Encoding.f64.byteCount(elements: Int.max / 4) }
    }

    @Test func elementCountRejectsOverflowingShape() {
        #expect(throws: TensorError.self) { try Checked.elementCount([1 << 40, 1 << 40]) }
    }

    /// A convolution's rows are its unfolded kernels (input channels × width), as the engine
    /// multiplies them: base's second convolution tiles q4_K's 256-value super-blocks, its first
    /// (80 × 3) not even 32-value blocks; a vector's row is itself.
    @Test func rowsAreTheSlicesOfTheFirstDimension() {
        #expect(Encoding.rowLength(of: [512, 512, 3]) == 1536 && Encoding.q4_K.tilesRows(of: [512, 512, 3]))
        #expect(Encoding.rowLength(of: [512, 80, 3]) == 240 && !Encoding.q8_0.tilesRows(of: [512, 80, 3]))
        #expect(Encoding.rowLength(of: [384, 512]) == 512 && Encoding.rowLength(of: [64]) == 64)
        #expect(Encoding.rowLength(of: [2, 1 << 40, 1 << 40]) == 0, "an overflowing row is no row")
    }

    @Test func aConvolutionConvertsAndDecodesInBlocksOfItsUnfoldedRows() throws {
        let values: [Float] = (0..<(2 * 32 * 3)).map { i -> Float in Float((i * 37) % 23) / 7 - 1.5 }
        let conv = try Tensor(shape: [2, 32, 3], floats: values)
        let q = try conv.converted(to: .q8_0)
        #expect(q.shape == [2, 32, 3] && q.rowLength == 96)
        let decoded = try q.decodedFloats()
        let worst = zip(values, decoded).map { (a: Float, b: Float) -> Float in abs(a - b) }.max() ?? 0
        #expect(worst <= 0.02, "max difference \(worst)")
        let e = #expect(throws: TensorError.self) { try Tensor(shape: [2, 16, 3], floats: Array(values.prefix(96))).converted(to: Encoding.q8_0) }
        #expect(e.map { "\($0)".contains("48") } == true, "\(String(describing: e))")
    }

    @Test func elementCountRejectsNegativeDimension() {
        #expect(throws: TensorError.self) { try Checked.elementCount([4, -1]) }
    }
}
