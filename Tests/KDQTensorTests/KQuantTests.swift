import Foundation
import Testing
@testable import KDQTensor

/// ggml's k-quants q2_K … q6_K: decoding against gguf-py's dequantization (the golden from
/// scripts/kquant-golden.py), and kdq's encoders.
@Suite struct KQuantTests {
    static let golden: [String: Any]? = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/kquants-golden.json"
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }()

    @Test func superBlockSizesMatchGGML() {
        #expect(Encoding.q3_K.blockElements == 256 && Encoding.q3_K.blockBytes == 110 && Encoding.q3_K.bitsPerElement == 3.4375)
        #expect(Encoding.q2_K.blockElements == 256 && Encoding.q2_K.blockBytes == 84 && Encoding.q2_K.bitsPerElement == 2.625)
        #expect(Encoding.q4_K.blockElements == 256 && Encoding.q4_K.blockBytes == 144 && Encoding.q4_K.bitsPerElement == 4.5)
        #expect(Encoding.q5_K.blockElements == 256 && Encoding.q5_K.blockBytes == 176 && Encoding.q5_K.bitsPerElement == 5.5)
        #expect(Encoding.q6_K.blockElements == 256 && Encoding.q6_K.blockBytes == 210 && Encoding.q6_K.bitsPerElement == 6.5625)
    }

    static let all: [Encoding] = [.q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    @Test(arguments: all)
    func decodesAsGGUFPyDoes(_ e: Encoding) throws {
        let entry = try #require(Self.golden?[e.rawValue] as? [String: Any])
        let hex = try #require(entry["blocks_hex"] as? String)
        let expected = try #require(entry["values"] as? [Double]).map { Float($0) }
        var bytes: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            bytes.append(try #require(UInt8(hex[i..<j], radix: 16)))
            i = j
        }
        let t = try Tensor(shape: [expected.count], encoding: e, data: Storage(copying: bytes))
        let values = try t.decodedFloats()
        let maxDiff = zip(values, expected).map { abs($0 - $1) }.max() ?? .infinity
        print("\(e.rawValue): max |kdq − gguf-py| over \(values.count) values = \(maxDiff)")
        #expect(values.count == expected.count && maxDiff == 0)
    }

    func gaussian(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let u = max(1e-12, Double(rng.next() >> 11) / Double(1 << 53)), v = Double(rng.next() >> 11) / Double(1 << 53)
            return Float(0.02 * (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v))
        }
    }

    func relativeError(_ a: [Float], _ b: [Float], columns: Range<Int>? = nil, row: Int = 512) -> Double {
        var e = 0.0, s = 0.0
        for (k, (x, y)) in zip(a, b).enumerated() where columns?.contains(k % row) ?? true {
            e += Double(x - y) * Double(x - y); s += Double(x) * Double(x)
        }
        return (e / s).squareRoot()
    }

    /// At equal bits the k-quant loses less: q4_K against q4_0 (4.5 bits each), q5_K (5.5) against
    /// q5_0 (5.5).
    @Test func kQuantsBeatTheBlocksOf32AtTheSameBits() throws {
        let x = gaussian(8 * 512, seed: 3)
        let t = try Tensor(shape: [8, 512], floats: x)
        let q4 = relativeError(x, try t.converted(to: .q4_0, quantizer: .search).decodedFloats())
        let q4K = relativeError(x, try t.converted(to: .q4_K).decodedFloats())
        let q5 = relativeError(x, try t.converted(to: .q5_0, quantizer: .search).decodedFloats())
        let q5K = relativeError(x, try t.converted(to: .q5_K).decodedFloats())
        let q6K = relativeError(x, try t.converted(to: .q6_K).decodedFloats())
        let q8 = relativeError(x, try t.converted(to: .q8_0).decodedFloats())
        print("relative RMS error: q4_0 \(q4), q4_K \(q4K), q5_0 \(q5), q5_K \(q5K), q6_K \(q6K), q8_0 \(q8)")
        #expect(q4K < q4 && q5K < q5)
        #expect(q8 < q6K && q6K < q5K && q5K < q4K)
        #expect(q4K < 0.1 && q6K < 0.03)
    }

    /// Narrower layouts lose more: q4_0 (4.5 bits) < q3_K (3.44) < q2_K (2.63), each within a bound.
    @Test func encodingErrorFollowsTheBitsPerWeight() throws {
        let x = gaussian(8 * 512, seed: 3)
        let t = try Tensor(shape: [8, 512], floats: x)
        let e4 = relativeError(x, try t.converted(to: .q4_0, quantizer: .search).decodedFloats())
        let e3 = relativeError(x, try t.converted(to: .q3_K).decodedFloats())
        let e2 = relativeError(x, try t.converted(to: .q2_K).decodedFloats())
        print("relative RMS error: q4_0 \(e4), q3_K \(e3), q2_K \(e2)")
        #expect(e4 < e3 && e3 < e2)
        #expect(e3 < 0.2 && e2 < 0.4)
    }

    /// Importance on a set of columns buys them a smaller error.
    @Test(arguments: all)
    func importanceLowersTheErrorWhereItIsHigh(_ e: Encoding) throws {
        let x = gaussian(8 * 512, seed: 5)
        let t = try Tensor(shape: [8, 512], floats: x)
        let weights = (0..<512).map { $0 % 16 < 4 ? Float(50) : 1 }
        let plain = try t.converted(to: e).decodedFloats()
        let weighted = try t.converted(to: e, quantizer: .search, importance: weights).decodedFloats()
        let columns = (0..<512).filter { $0 % 16 < 4 }
        func error(_ y: [Float]) -> Double {
            var s = 0.0
            for r in 0..<8 { for c in columns { let d = Double(x[r * 512 + c] - y[r * 512 + c]); s += d * d } }
            return s
        }
        print("\(e.rawValue): squared error on the important columns \(error(plain)) → \(error(weighted))")
        #expect(error(weighted) < error(plain))
    }

    @Test(arguments: all)
    func zerosAndAConstantRowSurvive(_ e: Encoding) throws {
        var x = [Float](repeating: 0, count: 512)
        for i in 256..<512 { x[i] = 0.125 }
        let y = try Tensor(shape: [2, 256], floats: x).converted(to: e).decodedFloats()
        #expect(y[0..<256].allSatisfy { $0 == 0 })
        #expect(y[256..<512].allSatisfy { abs($0 - 0.125) < 0.002 }, "\(y[256])")
    }

    @Test(arguments: all)
    func rowsThatAreNotWholeSuperBlocksAreRefused(_ e: Encoding) throws {
        let t = try Tensor(shape: [2, 384], floats: gaussian(768, seed: 1))
        #expect(throws: TensorError.self) { try t.converted(to: e) }
        #expect(throws: TensorError.self) { try Tensor(shape: [2, 128], encoding: e, data: Storage(count: e.blockBytes) { _ in }) }
    }

    @Test(arguments: all)
    func encodingIsDeterministic(_ e: Encoding) throws {
        let t = try Tensor(shape: [64, 512], floats: gaussian(64 * 512, seed: 9))
        let a = try t.converted(to: e), b = try t.converted(to: e)
        #expect(a.data.bytes.elementsEqual(b.data.bytes))
    }
}
