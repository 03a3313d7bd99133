import CKernels
import Foundation
import KDQTestSupport
import Testing
@testable import KDQEngine

/// Attention of many queries (the encoder's case): the fused AVX-512 kernel and the BLAS path
/// against a double-precision reference, on shapes that leave partial blocks of queries and keys.
@Suite struct ManyQueryAttentionTests {
    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var g = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float(Double(g.next() % 2_000_001) / 1_000_000 - 1) }
    }

    /// out[i, head] = Σ_j softmax_j(scale·q_i·k_j)·v_j, in double.
    static func reference(q: [Float], k: [Float], v: [Float], nq: Int, nk: Int, d: Int, heads: Int) -> [Double] {
        let dh = d / heads, scale = 1 / Double(dh).squareRoot()
        var out = [Double](repeating: 0, count: nq * d)
        for h in 0..<heads {
            for i in 0..<nq {
                var scores = (0..<nk).map { j in
                    (0..<dh).reduce(0.0) { $0 + Double(q[i * d + h * dh + $1]) * Double(k[j * d + h * dh + $1]) } * scale
                }
                let m = scores.max() ?? 0
                scores = scores.map { Foundation.exp($0 - m) }
                let sum = scores.reduce(0, +)
                for c in 0..<dh {
                    out[i * d + h * dh + c] = (0..<nk).reduce(0.0) { $0 + scores[$1] * Double(v[$1 * d + h * dh + c]) } / sum
                }
            }
        }
        return out
    }

    @Test(arguments: [(nq: 37, nk: 45, heads: 2), (nq: 16, nk: 16, heads: 1), (nq: 100, nk: 300, heads: 3)])
    func bothPathsMatchADoubleReference(_ shape: (nq: Int, nk: Int, heads: Int)) throws {
        let (nq, nk, heads) = shape
        let d = 64 * heads
        let q = Self.random(nq * d, seed: 1), k = Self.random(nk * d, seed: 2), v = Self.random(nk * d, seed: 3)
        let expected = Self.reference(q: q, k: k, v: v, nq: nq, nk: nk, d: d, heads: heads)
        for allowFused in [true, false] {
            var out = [Float](repeating: .nan, count: nq * d)
            Attention.attend(q: q, nq: nq, k: k, v: v, nk: nk, d: d, heads: heads, causalOffset: nil, into: &out, allowFused: allowFused)
            let worst = zip(out, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
            let path = allowFused && Attention.fusedKernel ? "fused (AVX-512)" : "BLAS"
            print("attention \(nq)×\(nk), \(heads) heads, \(path): max difference \(worst)")
            #expect(worst < 2e-6, "\(path): \(worst)")
        }
    }

    @Test func theFusedKernelRunsExactlyWhereTheAVX512PathIsInUse() throws {
        let inUse = String(cString: kdq_kernels().pointee.name) == "avx512"
        #expect(Attention.fusedKernel == inUse)
        let nk = 20
        let k = Self.random(nk * 64, seed: 4)
        var packedKeys = [Float](repeating: 0, count: kdq_attend_packed_keys_floats(Int32(nk)))
        var packedValues = [Float](repeating: 0, count: nk * 64)
        kdq_attend_pack_keys(k, Int32(nk), 64, &packedKeys)
        kdq_attend_pack_values(k, Int32(nk), 64, &packedValues)
        #expect(packedValues == k)
        #expect(packedKeys[1] == k[64] && packedKeys[16] == k[1], "panel layout: [dimension][16 keys]")
        #expect(packedKeys[1024 + 4 * 16 + 5] == 0, "keys past nk are zero in the last panel")
        var scores = [Float](repeating: 0, count: kdq_attend_scratch_floats(Int32(nk)))
        var out = [Float](repeating: 0, count: 17 * 64)
        let q = Self.random(17 * 64, seed: 5)
        #expect(kdq_attend_block(q, 16, packedKeys, packedValues, Int32(nk), 64, 0.125, &scores, &out) == (inUse ? 1 : 0))
        #expect(kdq_attend_block(q, 17, packedKeys, packedValues, Int32(nk), 64, 0.125, &scores, &out) == 0, "more than 16 rows")
        #expect(kdq_attend_block(q, 0, packedKeys, packedValues, Int32(nk), 64, 0.125, &scores, &out) == 0, "no rows")
    }
}
