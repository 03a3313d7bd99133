import KDQTensor
import Testing

/// The grids read from encoded blocks give back every decoded value exactly, and levels
/// written back reproduce the block's bytes.
struct BlockGridsTests {
    static let blockEncodings: [Encoding] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q3_K, .q2_K]
    /// The offset of a byte of levels (not scales) in each layout's block.
    static let aQuantByte: [Encoding: Int] = [.q4_0: 2, .q4_1: 4, .q5_0: 6, .q5_1: 8, .q8_0: 2, .q3_K: 40, .q2_K: 20]

    static func randomTensor(rows: Int, columns: Int, seed: UInt64) throws -> Tensor {
        var rng = SplitMix64(seed: seed)
        return try Tensor(shape: [rows, columns], floats: (0..<rows * columns).map { _ in Float.random(in: -1...1, using: &rng) })
    }

    @Test(arguments: blockEncodings)
    func gridsDecodeEveryValueAndLevelsRewriteTheSameBytes(_ e: Encoding) throws {
        let encoded = try Self.randomTensor(rows: 2, columns: 512, seed: 7).converted(to: e, quantizer: .search)
        let decoded = try encoded.decodedFloats()
        let blocks = encoded.data.count / e.blockBytes
        let grids = UnsafeMutablePointer<ValueGrid>.allocate(capacity: e.blockElements)
        let levels = UnsafeMutablePointer<Int32>.allocate(capacity: e.blockElements)
        let rewritten = UnsafeMutableRawPointer.allocate(byteCount: e.blockBytes, alignment: 8)
        defer { grids.deallocate(); levels.deallocate(); rewritten.deallocate() }
        var mismatches = 0
        for b in 0..<blocks {
            let block = encoded.data.bytes.baseAddress! + b * e.blockBytes
            #expect(BlockGrids.grids(e, block, grids))
            for i in 0..<e.blockElements {
                let y = decoded[b * e.blockElements + i]
                levels[i] = grids[i].level(y)
                if grids[i].value(levels[i]) != y { mismatches += 1 }
            }
            rewritten.copyMemory(from: block, byteCount: e.blockBytes)
            // Scramble the levels first, so that only what `write` stores can make the bytes equal.
            let quant = rewritten + Self.aQuantByte[e]!
            quant.storeBytes(of: quant.load(as: UInt8.self) ^ 0x5A, as: UInt8.self)
            BlockGrids.write(e, levels: levels, into: rewritten)
            #expect(memcmp(rewritten, block, e.blockBytes) == 0, "block \(b) of \(e.rawValue) rewritten from its levels differs")
        }
        #expect(mismatches == 0, "\(mismatches) decoded \(e.rawValue) values are not on their grid")
    }

    @Test func plainEncodingsHaveNoGrid() {
        let grids = UnsafeMutablePointer<ValueGrid>.allocate(capacity: 1)
        defer { grids.deallocate() }
        let bytes = [UInt8](repeating: 0, count: 4)
        #expect(!bytes.withUnsafeBytes { BlockGrids.grids(.f16, $0.baseAddress!, grids) })
    }

    @Test func aZeroStepGridTakesTheLevelNearestZero() {
        #expect(ValueGrid(step: 0, offset: 1, lowest: 0, highest: 3).level(5) == 0)
        #expect(ValueGrid(step: 0, offset: 0, lowest: -4, highest: 3).level(.nan) == 0)
        #expect(ValueGrid(step: 0.5, offset: 0, lowest: -4, highest: 3).level(100) == 3)
    }
}

#if canImport(Glibc)
import Glibc
#endif
