import Foundation
import Testing
@testable import KDQTensor

/// `BlockGrid` reads each value's grid from a block's scales and writes a value's level
/// without touching the others, for every ggml block layout kdq encodes.
@Suite struct BlockGridTests {
    /// One block of `e` encoded from random values by kdq's search/k-quant encoder.
    func encodedBlock(_ e: Encoding, seed: UInt64) throws -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        let values = (0..<e.blockElements).map { _ in Float(Double(rng.next() >> 11) / Double(1 << 53) - 0.4) * 0.1 }
        let t = try Tensor(shape: [1, e.blockElements], floats: values).converted(to: e, quantizer: .search)
        return t.data.array
    }

    func decoded(_ e: Encoding, _ bytes: [UInt8]) throws -> [Float] {
        try Tensor(shape: [e.blockElements], encoding: e, data: Storage(copying: bytes)).decodedFloats()
    }

    @Test(arguments: Array(BlockGrid.encodings).sorted())
    func everyDecodedValueLiesOnItsGridAtItsStoredLevel(_ e: Encoding) throws {
        for seed in UInt64(1)...4 {
            var bytes = try encodedBlock(e, seed: seed)
            let values = try decoded(e, bytes)
            let original = bytes
            try bytes.withUnsafeMutableBytes { b in
                for i in 0..<e.blockElements {
                    let grid = BlockGrid.grid(e, b.baseAddress!, value: i)
                    let level = grid.nearestLevel(values[i])
                    #expect(grid.levels.contains(level))
                    #expect(grid.value(level) == values[i], "\(e.rawValue) value \(i): grid gives \(grid.value(level)), decoder \(values[i])")
                    BlockGrid.setLevel(e, b.baseAddress!, value: i, level)
                }
            }
            #expect(bytes == original, "\(e.rawValue): rewriting every value's own level changed the block")
        }
    }

    @Test(arguments: Array(BlockGrid.encodings).sorted())
    func settingALevelChangesThatValueOnly(_ e: Encoding) throws {
        var bytes = try encodedBlock(e, seed: 9)
        let before = try decoded(e, bytes)
        for i in [0, 1, 15, 16, e.blockElements / 2 + 3, e.blockElements - 1] {
            let (grid, level): (ValueGrid, Int) = bytes.withUnsafeMutableBytes { b in
                let grid = BlockGrid.grid(e, b.baseAddress!, value: i)
                let level = grid.nearestLevel(before[i]) == grid.levels.upperBound ? grid.levels.lowerBound : grid.levels.upperBound
                BlockGrid.setLevel(e, b.baseAddress!, value: i, level)
                return (grid, level)
            }
            let after = try decoded(e, bytes)
            #expect(after[i] == grid.value(level), "\(e.rawValue) value \(i): \(after[i]) against \(grid.value(level))")
            for k in 0..<e.blockElements where k != i {
                #expect(after[k] == before[k], "\(e.rawValue): setting value \(i) changed value \(k)")
            }
            bytes.withUnsafeMutableBytes { BlockGrid.setLevel(e, $0.baseAddress!, value: i, grid.nearestLevel(before[i])) }
            #expect(try decoded(e, bytes) == before)
        }
    }

    @Test func nearestLevelClampsAndSurvivesBadInput() {
        let grid = ValueGrid(step: 0.5, offset: -2, levels: 0...7)
        #expect(grid.nearestLevel(-100) == 0 && grid.nearestLevel(100) == 7 && grid.nearestLevel(-0.76) == 2)
        #expect(grid.nearestLevel(.nan) == 0 && grid.nearestLevel(.infinity) == 0)
        #expect(ValueGrid(step: 0, levels: -127...127).nearestLevel(3) == 0)
        let centered = ValueGrid(step: 0.25, levels: 0...15, center: 8)
        #expect(centered.nearestLevel(0.26) == 9 && centered.value(9) == 0.25 && centered.nearestLevel(0) == 8)
        #expect(ValueGrid(step: 0, levels: 0...7, center: 4).nearestLevel(1) == 4)
    }

    /// A k-quant sub-block whose values moved after the super-block was encoded gets the scale
    /// code that fits them best on the super-block's scales; the other sub-blocks keep theirs.
    @Test(arguments: [Encoding.q6_K, .q5_K, .q4_K, .q3_K, .q2_K])
    func refittingASubBlockFitsItsNewValuesAndNothingElse(_ e: Encoding) throws {
        var bytes = try encodedBlock(e, seed: 21)
        let before = try decoded(e, bytes)
        var moved = before
        let group = BlockGrid.scaleGroup(e), sub = 64 / group - 1, range = (64 - group)..<64
        for i in range { moved[i] *= 0.4 }  // the sub-block ending at value 64 shrinks
        let error = { (values: [Float], bytes: [UInt8]) -> Double in
            var total = 0.0
            var copy = bytes
            copy.withUnsafeMutableBytes { b in
                for i in range {
                    let grid = BlockGrid.grid(e, b.baseAddress!, value: i)
                    let d = Double(grid.value(grid.nearestLevel(values[i])) - values[i])
                    total += d * d
                }
            }
            return total
        }
        let stale = error(moved, bytes)
        moved.withUnsafeBufferPointer { x in bytes.withUnsafeMutableBytes { BlockGrid.refitSubBlock(e, $0.baseAddress!, subBlock: sub, x.baseAddress! + range.lowerBound, nil) } }
        let refit = error(moved, bytes)
        print("\(e.rawValue): sub-block error \(stale) on the stale code, \(refit) refitted")
        #expect(refit < 0.5 * stale)
        let after = try decoded(e, bytes)
        for i in 0..<e.blockElements where !range.contains(i) { #expect(after[i] == before[i], "value \(i) changed") }
    }

    @Test func q4KScalesAndMinsRoundTrip() {
        var scales = [UInt8](repeating: 0xA5, count: 12)
        scales.withUnsafeMutableBytes { s in
            for k in 0..<8 { BlockGrid.setScaleAndMin(s.baseAddress!, k, scale: (k * 9) % 64, min: 63 - (k * 7) % 64) }
            for k in 0..<8 {
                let (sc, m) = KQuantCodecs.scaleAndMin(s.baseAddress!, k)
                #expect(Int(sc) == (k * 9) % 64 && Int(m) == 63 - (k * 7) % 64, "sub-block \(k)")
            }
            BlockGrid.setScaleAndMin(s.baseAddress!, 5, scale: 63, min: 0)
            #expect(KQuantCodecs.scaleAndMin(s.baseAddress!, 5) == (63, 0) && KQuantCodecs.scaleAndMin(s.baseAddress!, 1) == (9, 63 - 7))
        }
    }

    @Test func q3ScaleCodesRoundTrip() {
        var scales = [UInt8](repeating: 0xA5, count: 12)
        scales.withUnsafeMutableBytes { s in
            for k in 0..<16 { BlockGrid.setQ3Scale(s.baseAddress!, k, (k * 5) % 64 - 32) }
            for k in 0..<16 { #expect(Int(KQuantCodecs.q3Scale(s.baseAddress!, k)) == (k * 5) % 64 - 32) }
            BlockGrid.setQ3Scale(s.baseAddress!, 7, 31)
            #expect(KQuantCodecs.q3Scale(s.baseAddress!, 7) == 31 && KQuantCodecs.q3Scale(s.baseAddress!, 6) == 30 - 32)
        }
    }
}
