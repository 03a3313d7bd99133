import CKernels
import KDQTensor
import KDQTestSupport
import Testing
@testable import KDQEngine

/// The integer q8_0 products (`q8_gemm.c`): activations quantized bit for bit alike on both
/// paths, the VNNI kernel against the portable loops on the same quantized inputs, and both
/// against the f32 product of the decoded weights within the error that quantizing the
/// activations allows.
@Suite struct Q8ProductTests {
    // 37 weight rows (two full panels and a partial third), 3 blocks, 7 activation rows (a
    // 4-row tile and 3 single rows).
    static let rows = 37, columns = 96, m = 7

    struct Case {
        let weight: Tensor
        let decoded: [Float]
        let x: [Float]
        let bias: [Float]
    }

    static func makeCase() throws -> Case {
        let values = LinearWeightTests.random(rows * columns, seed: 21)
        let weight = try Tensor(shape: [rows, columns], floats: values).converted(to: .q8_0)
        var decoded = [Float](repeating: 0, count: rows * columns)
        try decoded.withUnsafeMutableBufferPointer { try weight.decode(start: 0, count: rows * columns, into: $0.baseAddress!) }
        // Activations of mixed magnitudes, so that blocks get very different scales; one block all zero.
        var x = LinearWeightTests.random(m * columns, seed: 22).enumerated().map { $1 * Float(1 + $0 % 5) * 3 }
        for k in 32..<64 { x[2 * columns + k] = 0 }
        return Case(weight: weight, decoded: decoded, x: x, bias: LinearWeightTests.random(rows, seed: 23))
    }

    static func quantize(_ x: [Float], portable: Bool) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: kdq_q8_activation_row_bytes(Int32(columns)) * m)
        if portable { kdq_q8_quantize_rows_portable(x, Int32(m), Int32(columns), &out) } else { kdq_q8_quantize_rows(x, Int32(m), Int32(columns), &out) }
        return out
    }

    static func product(_ c: Case, quantized: [UInt8], portable: Bool) throws -> [Float] {
        let blocks = try #require(c.weight.data.bytes.baseAddress)
        let panels = Int32((rows + 15) / 16)
        var packed = [UInt8](repeating: 0, count: kdq_q8_0_packed_bytes(Int32(rows), Int32(columns)))
        kdq_q8_0_pack(blocks, Int32(rows), Int32(columns), 0, panels, &packed)
        var y = [Float](repeating: .nan, count: m * rows)
        if portable {
            kdq_q8_0_gemm_portable(quantized, Int32(m), Int32(columns), packed, Int32(rows), 0, panels, c.bias, &y)
        } else {
            kdq_q8_0_gemm(quantized, Int32(m), Int32(columns), packed, Int32(rows), 0, panels, c.bias, &y)
        }
        return y
    }

    @Test func bothQuantizersGiveTheSameBytes() throws {
        let c = try Self.makeCase()
        #expect(Self.quantize(c.x, portable: false) == Self.quantize(c.x, portable: true))
    }

    @Test func theProductStaysWithinTheActivationsQuantizationError() throws {
        let c = try Self.makeCase()
        let y = try Self.product(c, quantized: Self.quantize(c.x, portable: true), portable: true)
        var worst = 0.0
        for i in 0..<Self.m {
            for j in 0..<Self.rows {
                var exact = Double(c.bias[j]), bound = 0.0, magnitude = 0.0
                for b in 0..<(Self.columns / 32) {
                    let block = (32 * b)..<(32 * b + 32)
                    let amax = block.map { abs(Double(c.x[i * Self.columns + $0])) }.max() ?? 0
                    for k in block {
                        let w = Double(c.decoded[j * Self.columns + k]), v = Double(c.x[i * Self.columns + k])
                        exact += w * v
                        bound += abs(w) * amax / 127 / 2  // each activation moves by at most half its step
                        magnitude += abs(w * v)
                    }
                }
                let error = abs(Double(y[i * Self.rows + j]) - exact)
                #expect(error <= bound * 1.001 + 1e-5 * magnitude, "Y[\(i), \(j)]: off by \(error), allowed \(bound)")
                worst = max(worst, error / max(bound, 1e-30))
            }
        }
        print("q8_0 × q8_0 product: largest error \(worst) of the bound from the activations' rounding")
    }

    @Test(.enabled(if: kdq_kernels_cpu_has_avx512_vnni() != 0))
    func theVNNIKernelComputesWhatThePortableLoopsDo() throws {
        let c = try Self.makeCase()
        let quantized = Self.quantize(c.x, portable: true)
        let reference = try Self.product(c, quantized: quantized, portable: true)
        let got = try Self.product(c, quantized: quantized, portable: false)
        let worst = zip(got, reference).map { abs(Double($0) - Double($1)) / max(1, abs(Double($1))) }.max() ?? 0
        print("q8_0 VNNI against portable: max difference \(worst)")
        #expect(worst < 1e-5, "\(worst)")
    }

    /// The engine takes the integer product from 64 rows on (where the CPU has VNNI) and the
    /// f32 one below; both agree with BLAS on the decoded values within the quantization error.
    @Test(arguments: [5, 70])
    func theEngineMatchesBLASOnEitherSideOfTheThreshold(_ m: Int) throws {
        let (w, reference) = try LinearWeightTests.pair(.q8_0, rows: 100, columns: 512)
        let x = LinearWeightTests.random(m * 512, seed: 5)
        var y = [Float](repeating: 0, count: m * 100), expected = y
        try w.apply(x, m, bias: nil, into: &y)
        try reference.apply(x, m, bias: nil, into: &expected)
        let difference = LinearWeightTests.relativeDifference(y, expected)
        let integer = m >= LinearWeight.integerProductRows && LinearWeight.hasIntegerProducts
        print("q8_0 \(m) rows (\(integer ? "integer" : "f32") product): max relative difference \(difference)")
        #expect(difference < (integer ? 1e-2 : 1e-5), "\(difference)")
    }
}
