import Testing
@testable import KDQTensor

/// The eight-lane q8_0 encoder rounds exactly as C's roundf (half away from zero).
@Suite struct Q8RoundingTests {
    /// Blocks whose largest value is 127, so x / d is x itself: halves, near-halves and signs.
    @Test(arguments: [0.5, 1.5, 2.5, -0.5, -1.5, 0.49999997, -0.49999997, 126.5, -126.5, 0.50000006, 3.4999998])
    func roundsLikeRoundf(_ value: Float) {
        var block = [Float](repeating: 0, count: 32)
        block[0] = 127
        for j in 1..<32 { block[j] = value - Float(j % 3) * (value < 0 ? -1 : 1) }  // magnitudes stay below 127
        block[31] = -value
        var out = [UInt8](repeating: 0, count: 34)
        block.withUnsafeBufferPointer { x in out.withUnsafeMutableBytes { Quantizers.q8_0(x.baseAddress!, $0.baseAddress!) } }
        let d = Float(127) / 127, id = 1 / d
        for j in 0..<32 {
            let expected = Int8((block[j] * id).rounded(.toNearestOrAwayFromZero))
            #expect(Int8(bitPattern: out[2 + j]) == expected, "element \(j) = \(block[j])")
        }
    }
}
