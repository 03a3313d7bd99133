import Testing
@testable import KDQTensor

@Suite struct DecodeTests {
    @Test func f16DecodesSpecialValues() throws {
        let bits: [UInt16] = [0x3C00, 0xC000, 0x7C00, 0x0001, 0x7BFF, 0x8000]
        let t = try Tensor(shape: [6], encoding: .f16, data: Storage(values: bits))
        let v = try t.decodedFloats()
        #expect(v[0] == 1)
        #expect(v[1] == -2)
        #expect(v[2] == .infinity)
        #expect(v[3] == Float(5.9604645e-8))
        #expect(v[4] == 65504)
        #expect(v[5] == 0 && v[5].sign == .minus)
    }

    @Test func bf16DecodesByShifting() throws {
        let t = try Tensor(shape: [2], encoding: .bf16, data: Storage(values: [UInt16(0x3F80), UInt16(0xC040)]))
        #expect(try t.decodedFloats() == [1, -3])
    }

    @Test func q4_0BlockFromHandMadeBytes() throws {
        // d = 0.5 (f16 0x3800); byte j holds low nibble j%16 and high nibble 15 - j%16.
        var block: [UInt8] = [0x00, 0x38]
        for j in 0..<16 { block.append(UInt8(j) | UInt8(15 - j) << 4) }
        let v = try Tensor(shape: [32], encoding: .q4_0, data: Storage(copying: block)).decodedFloats()
        for j in 0..<16 {
            #expect(v[j] == Float(j - 8) * 0.5)
            #expect(v[j + 16] == Float(15 - j - 8) * 0.5)
        }
    }

    @Test func q5_0UsesHighBits() throws {
        // d = 1; all nibbles 0; qh bit 0 and bit 16 set -> y[0] = 16-16 = 0, y[16] = 0; others -16.
        var block: [UInt8] = [0x00, 0x3C]
        block += [0x01, 0x00, 0x01, 0x00]
        block += [UInt8](repeating: 0, count: 16)
        let v = try Tensor(shape: [32], encoding: .q5_0, data: Storage(copying: block)).decodedFloats()
        #expect(v[0] == 0)
        #expect(v[16] == 0)
        #expect(v[1] == -16)
        #expect(v[17] == -16)
    }

    @Test func q5_1AddsMinimum() throws {
        // d = 1, m = 2, nibble 3 everywhere, qh all ones -> 3 + 16 + 2 = 21.
        var block: [UInt8] = [0x00, 0x3C, 0x00, 0x40, 0xFF, 0xFF, 0xFF, 0xFF]
        block += [UInt8](repeating: 0x33, count: 16)
        let v = try Tensor(shape: [32], encoding: .q5_1, data: Storage(copying: block)).decodedFloats()
        #expect(v.allSatisfy { $0 == 21 })
    }

    @Test func q8_0AndQ4_1() throws {
        var q8: [UInt8] = [0x00, 0x40]  // d = 2
        q8 += (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }
        let v8 = try Tensor(shape: [32], encoding: .q8_0, data: Storage(copying: q8)).decodedFloats()
        #expect(v8 == (0..<32).map { Float(($0 - 16) * 2) })

        var q41: [UInt8] = [0x00, 0x3C, 0x00, 0xBC]  // d = 1, m = -1
        q41 += [UInt8](repeating: 0x21, count: 16)
        let v41 = try Tensor(shape: [32], encoding: .q4_1, data: Storage(copying: q41)).decodedFloats()
        #expect(v41[0] == 0 && v41[16] == 1)
    }

    @Test func int8RowsDivideByRowScale() throws {
        let q: [Int8] = [127, -127, 64, 0]
        let scales: [Float] = [127, 2]
        let t = try Tensor(shape: [2, 2], encoding: .int8Rows, data: Storage(values: q), scales: Storage(values: scales))
        #expect(try t.decodedFloats() == [1, -1, 32, 0])
        let second = try t.rows(1..<2)
        #expect(try second.decodedFloats() == [32, 0])
    }

    @Test func int8RowsWithoutScalesIsRejected() {
        #expect(throws: TensorError.self) {
            try Tensor(shape: [2, 2], encoding: .int8Rows, data: Storage(values: [Int8](repeating: 0, count: 4)))
        }
    }

    @Test func byteSizeMismatchIsRejected() {
        #expect(throws: TensorError.self) {
            try Tensor(shape: [3], encoding: .f32, data: Storage(values: [Float](repeating: 0, count: 2)))
        }
    }

    @Test func unalignedDecodeRangeIsRejected() throws {
        let t = try Tensor(shape: [64], encoding: .q8_0, data: Storage(copying: [UInt8](repeating: 0, count: 68)))
        let out = UnsafeMutablePointer<Float>.allocate(capacity: 64)
        defer { out.deallocate() }
        #expect(throws: TensorError.self) { try t.decode(start: 16, count: 32, into: out) }
    }
}
