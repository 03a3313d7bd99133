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

    @Test func elementCountRejectsNegativeDimension() {
        #expect(throws: TensorError.self) { try Checked.elementCount([4, -1]) }
    }
}
