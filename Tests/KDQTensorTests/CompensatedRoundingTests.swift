import KDQTensor
import Testing

/// `Tensor.compensated`'s checks and its limit case: without correlation between the inputs,
/// error compensation is rounding to the nearest level of the given scales.
struct CompensatedRoundingTests {
    /// The upper factor of a diagonal Gram matrix's inverse: 1/√h on the diagonal.
    static func diagonalFactor(_ n: Int) -> [Float] {
        var u = [Float](repeating: 0, count: n * n)
        for i in 0..<n { u[i * n + i] = 1 / Float(i % 5 + 1).squareRoot() }
        return u
    }

    @Test(arguments: BlockGridsTests.blockEncodings)
    func withUncorrelatedInputsItRoundsToTheNearestLevel(_ e: Encoding) throws {
        let source = try BlockGridsTests.randomTensor(rows: 3, columns: 256, seed: 11)
        let scaled = try source.converted(to: e, quantizer: .search)
        let compensated = try source.compensated(to: e, scaled: scaled, inverseFactor: Self.diagonalFactor(256))
        let values = try source.decodedFloats(), result = try compensated.decodedFloats()
        let grids = UnsafeMutablePointer<ValueGrid>.allocate(capacity: e.blockElements)
        defer { grids.deallocate() }
        var wrong = 0
        for b in 0..<scaled.data.count / e.blockBytes {
            _ = BlockGrids.grids(e, scaled.data.bytes.baseAddress! + b * e.blockBytes, grids)
            for i in 0..<e.blockElements {
                let k = b * e.blockElements + i
                if result[k] != grids[i].value(grids[i].level(values[k])) { wrong += 1 }
            }
        }
        #expect(wrong == 0, "\(wrong) \(e.rawValue) values are not the nearest level")
    }

    @Test func aPlainTargetIsRefused() throws {
        let source = try BlockGridsTests.randomTensor(rows: 1, columns: 32, seed: 1)
        #expect(throws: TensorError.self) { try source.compensated(to: .f16, scaled: source.converted(to: .f16), inverseFactor: Self.diagonalFactor(32)) }
    }

    @Test func scalesOfAnotherShapeAreRefused() throws {
        let source = try BlockGridsTests.randomTensor(rows: 2, columns: 32, seed: 1)
        let other = try BlockGridsTests.randomTensor(rows: 1, columns: 64, seed: 1).converted(to: .q4_0)
        #expect(throws: TensorError.self) { try source.compensated(to: .q4_0, scaled: other, inverseFactor: Self.diagonalFactor(32)) }
    }

    @Test func scalesInAnotherEncodingAreRefused() throws {
        let source = try BlockGridsTests.randomTensor(rows: 2, columns: 32, seed: 1)
        #expect(throws: TensorError.self) { try source.compensated(to: .q4_0, scaled: source.converted(to: .q8_0), inverseFactor: Self.diagonalFactor(32)) }
    }

    @Test func aFactorOfAnotherSizeIsRefused() throws {
        let source = try BlockGridsTests.randomTensor(rows: 2, columns: 32, seed: 1)
        #expect(throws: TensorError.self) { try source.compensated(to: .q4_0, scaled: source.converted(to: .q4_0), inverseFactor: Self.diagonalFactor(31)) }
    }
}
