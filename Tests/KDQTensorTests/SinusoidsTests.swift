import Foundation
import Testing
@testable import KDQTensor

/// Whisper's sinusoidal positions as an encoding that stores nothing (`Encoding.sinusoids`).
@Suite struct SinusoidsTests {
    static let empty = Storage(count: 0) { _ in }

    @Test func aComputedTableHoldsNoBytesAndDecodesToWhispersFormula() throws {
        let t = try Tensor(shape: [12, 8], encoding: .sinusoids, data: Self.empty)
        #expect(t.byteCount == 0 && Encoding.sinusoids.bitsPerElement == 0)
        let values = try t.decodedFloats()
        // Row t: sin(t·τᵢ) for i < 4, then cos(t·τᵢ); τᵢ = 10000^(−i/3).
        var worst: Double = 0
        for row in 0..<12 {
            for c in 0..<8 {
                let rate = pow(10000.0, -Double(c % 4) / 3)
                let expected = c < 4 ? sin(Double(row) * rate) : cos(Double(row) * rate)
                worst = max(worst, abs(Double(values[row * 8 + c]) - expected))
            }
        }
        print("sinusoids [12, 8] against the formula in f64: max difference \(worst)")
        #expect(worst < 1e-6)
        // A block of the table decodes as the same slice of the whole.
        var part = [Float](repeating: 0, count: 20)
        try part.withUnsafeMutableBufferPointer { try t.decode(start: 30, count: 20, into: $0.baseAddress!) }
        #expect(part == Array(values[30..<50]))
    }

    @Test func aTableEncodesAsComputedAndKeepsItsValues() throws {
        let shape = [30, 16]
        var table = [Float](repeating: 0, count: 480)
        table.withUnsafeMutableBufferPointer { Sinusoids.fill(shape, start: 0, count: 480, into: $0.baseAddress!) }
        let computed = try Tensor(shape: shape, floats: table).converted(to: .f16).converted(to: .sinusoids)
        #expect(computed.encoding == .sinusoids && computed.byteCount == 0)
        #expect(try computed.decodedFloats() == table)
        #expect(try computed.converted(to: .f32).decodedFloats() == table)
    }

    @Test func valuesThatAreNotTheTableAreRefused() throws {
        let shape = [30, 16]
        var table = [Float](repeating: 0, count: 480)
        table.withUnsafeMutableBufferPointer { Sinusoids.fill(shape, start: 0, count: 480, into: $0.baseAddress!) }
        table[100] += 0.01
        let error = #expect(throws: TensorError.self) { try Tensor(shape: shape, floats: table).converted(to: .sinusoids) }
        #expect(error?.message.contains("differ from it by up to 0.01") == true, "\(error?.message ?? "")")
    }

    @Test func anOddNumberOfChannelsIsNotATable() {
        let error = #expect(throws: TensorError.self) { try Tensor(shape: [10, 7], encoding: .sinusoids, data: Self.empty) }
        #expect(error?.code == .invalidShape)
    }

    @Test func aVectorIsNotATable() {
        #expect(throws: TensorError.self) { try Tensor(shape: [16], encoding: .sinusoids, data: Self.empty) }
    }

    @Test func aTableOverTheLimitIsRefusedBeforeAnythingIsComputed() {
        // 2²⁵ values: a declared shape must not make a reader compute (and allocate) without bound.
        let error = #expect(throws: TensorError.self) { try Tensor(shape: [1 << 13, 1 << 12], encoding: .sinusoids, data: Self.empty) }
        #expect(error?.message.contains("\(Sinusoids.maximumElements)") == true)
    }

    @Test func aComputedTableWithBytesIsRefused() {
        let error = #expect(throws: TensorError.self) {
            try Tensor(shape: [4, 8], encoding: .sinusoids, data: Storage(count: 4) { _ in })
        }
        #expect(error?.code == .sizeMismatch)
    }
}
