import Testing
@testable import KDQTensor

@Suite struct StatisticsTests {
    @Test func countsNonFiniteAndZeros() throws {
        let v: [Float] = [1, 2, 3, 0, .nan, .infinity, -.infinity, -2]
        let s = try Tensor(shape: [8], floats: v).statistics()
        #expect(s.count == 8)
        #expect(s.nans == 1)
        #expect(s.infinities == 2)
        #expect(s.zeros == 1)
        #expect(s.min == -2 && s.max == 3)
        #expect(abs(s.mean - 0.8) < 1e-12)
        let expectedStd = ((1.0 + 4 + 9 + 0 + 4) / 5 - 0.64).squareRoot()
        #expect(abs(s.standardDeviation - expectedStd) < 1e-9)
    }

    @Test func largeTensorMatchesDirectSum() throws {
        let n = 300_001
        let v = (0..<n).map { Float($0 % 1000) / 1000 - 0.5 }
        let s = try Tensor(shape: [n], floats: v).statistics()
        let direct = v.reduce(0.0) { $0 + Double($1) } / Double(n)
        #expect(abs(s.mean - direct) < 1e-6, "mean \(s.mean) vs \(direct)")
        #expect(s.count == n)
    }

    @Test func sha256OfKnownInput() {
        let hex = Array("abc".utf8).withUnsafeBytes { SHA256Hasher.hex($0) }
        #expect(hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
