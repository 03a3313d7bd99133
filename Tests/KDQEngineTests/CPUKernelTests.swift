import CKernels
import Foundation
import KDQTensor
import Testing
@testable import KDQEngine

/// `CKernels` on every path this CPU can run (portable C; AVX2 + FMA + F16C; AVX-512):
/// softmax, GELU and one-query attention against double-precision references, and every fused dot product against
/// the same row decoded by KDQTensor and summed in double.
@Suite struct CPUKernelTests {
    /// The paths this machine can run (AVX2 and AVX-512 only where the CPU has them).
    static var paths: [kdq_kernel_table] {
        [kdq_kernel_path(0), kdq_kernel_path(1), kdq_kernel_path(2)].compactMap { $0?.pointee }
    }

    static func name(_ t: kdq_kernel_table) -> String { String(cString: t.name) }

    static func random(_ count: Int, seed: UInt64, scale: Double) -> [Float] {
        var g = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float((Double(g.next() % 2_000_001) / 1_000_000 - 1) * scale) }
    }

    @Test func theDispatchUsesTheWidestPathTheCPUHas() throws {
        let chosen = try #require(kdq_kernels())
        let hasAVX2 = kdq_kernels_cpu_has_avx2() != 0, hasAVX512 = hasAVX2 && kdq_kernels_cpu_has_avx512() != 0
        #expect((kdq_kernel_path(1) != nil) == hasAVX2)
        #expect((kdq_kernel_path(2) != nil) == hasAVX512)
        let forced = ProcessInfo.processInfo.environment["KDQ_PORTABLE_KERNELS"].map { $0 != "0" } ?? false
        #expect(Self.name(chosen.pointee) == (forced ? "portable" : hasAVX512 ? "avx512" : hasAVX2 ? "avx2" : "portable"))
        print("kernel path in use: \(Self.name(chosen.pointee)); CPU has AVX2+FMA+F16C: \(hasAVX2), AVX-512: \(hasAVX512)")
    }

    @Test func softmaxMatchesADoubleReferenceOnEveryPath() throws {
        // 1,500 keys as in the encoder, a causal count that leaves a masked tail, and a short row.
        for (count, width) in [(1_500, 1_500), (37, 64), (5, 5)] {
            let row = Self.random(width, seed: UInt64(count), scale: 30)
            // The reference starts from the same float differences x − max the kernels compute
            // (their rounding alone is 2e-6 relative at |x| = 30), then works in double.
            let m = row[..<count].max() ?? 0
            let exps = row[..<count].map { Foundation.exp(Double($0 - m)) }
            let sum = exps.reduce(0, +)
            for t in Self.paths {
                var out = row
                t.softmax(&out, Int32(count), Int32(width))
                var worst = 0.0
                for i in 0..<count { worst = max(worst, abs(Double(out[i]) - exps[i] / sum) / max(exps[i] / sum, 1e-30)) }
                print("softmax \(Self.name(t)) \(count)/\(width): max relative difference \(worst)")
                #expect(worst < 1e-6, "\(Self.name(t)): \(worst)")
                #expect(out[count...].allSatisfy { $0 == 0 }, "the masked tail is zero")
            }
        }
    }

    @Test func unnormalizedSoftmaxGivesTheExponentialsAndTheirSumOnEveryPath() throws {
        for (count, width) in [(1_500, 1_500), (37, 64), (5, 5)] {
            let row = Self.random(width, seed: UInt64(count) + 7, scale: 30)
            let m = row[..<count].max() ?? 0
            let exps = row[..<count].map { Foundation.exp(Double($0 - m)) }
            let sum = exps.reduce(0, +)
            for t in Self.paths {
                var out = row
                let got = t.softmax_exp(&out, Int32(count), Int32(width))
                var worst = 0.0
                for i in 0..<count { worst = max(worst, abs(Double(out[i]) - exps[i]) / max(exps[i], 1e-30)) }
                let sumError = abs(got - sum) / sum
                print("softmax_exp \(Self.name(t)) \(count)/\(width): max relative difference \(worst), sum \(sumError)")
                #expect(worst < 1e-6, "\(Self.name(t)): \(worst)")
                #expect(sumError < 1e-6, "\(Self.name(t)): sum \(got) against \(sum)")
                #expect(out[count...].allSatisfy { $0 == 0 }, "the masked tail is zero")
            }
        }
    }

    @Test func softmaxGivesZeroForValuesBelowFloatRange() throws {
        for t in Self.paths {
            var row: [Float] = [0, -200, -.infinity, -87.5, 1]
            t.softmax(&row, 5, 5)
            #expect(row[1] == 0 && row[2] == 0 && row[3] == 0, "\(Self.name(t)): \(row)")
            #expect(abs(row[0] + row[4] - 1) < 1e-6)
        }
    }

    @Test func geluMatchesErfOnEveryPath() throws {
        let x = Self.random(10_003, seed: 11, scale: 8) + [0, -0.0, 1e-6, -1e-6, 12, -12, 40, -40]
        for t in Self.paths {
            var out = x
            t.gelu(&out, out.count)
            var worst = 0.0
            for (v, y) in zip(x, out) {
                let reference = 0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot()))
                worst = max(worst, abs(Double(y) - reference) / max(1, abs(Double(v))))
            }
            print("gelu \(Self.name(t)): max difference \(worst) (relative to max(1, |x|))")
            #expect(worst < 4e-7, "\(Self.name(t)): \(worst)")
        }
    }

    @Test func oneQueryAttentionMatchesADoubleReferenceOnEveryPath() throws {
        // 3 heads of 64 in rows of 192 (the head at offset 64), 37 keys of which 30 are valid (causal).
        let heads = 3, dh = 64, d = heads * dh, keys = 37, valid = 30, head = 1
        let q = Self.random(d, seed: 21, scale: 1), k = Self.random(keys * d, seed: 22, scale: 1), v = Self.random(keys * d, seed: 23, scale: 1)
        let scale = 1 / Float(dh).squareRoot()
        var logits = (0..<valid).map { i in (0..<dh).reduce(0.0) { $0 + Double(q[head * dh + $1]) * Double(k[i * d + head * dh + $1]) } * Double(scale) }
        let m = logits.max() ?? 0
        logits = logits.map { Foundation.exp($0 - m) }
        let sum = logits.reduce(0, +)
        let expected = (0..<dh).map { j in (0..<valid).reduce(0.0) { $0 + logits[$1] / sum * Double(v[$1 * d + head * dh + j]) } }
        for t in Self.paths {
            var scores = [Float](repeating: 0, count: keys), out = [Float](repeating: 0, count: dh)
            q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                t.attend_one(qp.baseAddress! + head * dh, kp.baseAddress! + head * dh, vp.baseAddress! + head * dh, Int32(valid), Int32(d),
                             Int32(dh), scale, &scores, &out)
            } } }
            let worst = zip(out, expected).map { abs(Double($0) - $1) }.max() ?? 0
            let weightError = (0..<valid).map { abs(Double(scores[$0]) - logits[$0] / sum) }.max() ?? 0
            print("attend_one \(Self.name(t)): max difference \(worst) (values), \(weightError) (weights)")
            #expect(worst < 1e-6 && weightError < 1e-6, "\(Self.name(t)): \(worst), \(weightError)")
        }
    }

    @Test(arguments: [Encoding.f16, .q8_0])
    func rowDecodingEqualsKDQTensorsOnEveryPath(_ e: Encoding) throws {
        let n = 32 * 33 + (e == .f16 ? 5 : 0)
        let tensor = try Tensor(shape: [n], floats: Self.random(n, seed: 31, scale: 3)).converted(to: e)
        var expected = [Float](repeating: 0, count: n)
        try expected.withUnsafeMutableBufferPointer { try tensor.decode(start: 0, count: n, into: $0.baseAddress!) }
        let base = try #require(tensor.data.bytes.baseAddress)
        for t in Self.paths {
            var out = [Float](repeating: .nan, count: n)
            if e == .f16 { t.decode_f16(base.assumingMemoryBound(to: UInt16.self), &out, n) } else { t.decode_q8_0(base, &out, n) }
            #expect(out == expected, "\(e.rawValue) \(Self.name(t)): bit for bit the values KDQTensor decodes")
        }
    }

    @Test(arguments: [Encoding.f16, .bf16, .q8_0, .q5_1, .q5_0, .q4_1, .q4_0])
    func fusedDotMatchesTheDecodedRowOnEveryPath(_ e: Encoding) throws {
        // 3 rows of 1,056 (33 blocks: not a multiple of the 4-way unrolling), or of 1,067 values
        // for the element encodings (their 8-wide and scalar tails).
        let columns = e.blockElements == 1 ? 1_067 : 1_056, rows = 3
        let tensor = try Tensor(shape: [rows, columns], floats: Self.random(rows * columns, seed: 5, scale: 2)).converted(to: e)
        var decoded = [Float](repeating: 0, count: rows * columns)
        try decoded.withUnsafeMutableBufferPointer { try tensor.decode(start: 0, count: rows * columns, into: $0.baseAddress!) }
        let x = Self.random(columns, seed: 9, scale: 1)
        let stride = columns / e.blockElements * e.blockBytes
        let base = try #require(tensor.data.bytes.baseAddress)
        for t in Self.paths {
            let dot = try #require(LinearWeight.rowDot(e, in: t))
            var worst = 0.0
            for r in 0..<rows {
                let reference = (0..<columns).reduce(0.0) { $0 + Double(decoded[r * columns + $1]) * Double(x[$1]) }
                let magnitude = (0..<columns).reduce(0.0) { $0 + abs(Double(decoded[r * columns + $1]) * Double(x[$1])) }
                let got = x.withUnsafeBufferPointer { Double(dot(base + r * stride, $0.baseAddress!, columns)) }
                worst = max(worst, abs(got - reference) / magnitude)
            }
            print("\(e.rawValue) dot \(Self.name(t)): max difference \(worst) (relative to Σ|w·x|)")
            #expect(worst < 1e-6, "\(e.rawValue) \(Self.name(t)): \(worst)")
        }
    }
}
