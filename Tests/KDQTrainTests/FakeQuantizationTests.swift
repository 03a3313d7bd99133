import KDQFormats
import KDQTensor
import Testing
@testable import KDQTrain

/// Quantization-aware training: the straight-through estimator and the shipped bytes.
@Suite(.serialized) struct FakeQuantizationTests {
    static func decoderLinears(_ store: ParameterStore) -> [String] {
        store.entries.map(\.name).filter { name in
            name.hasPrefix("decoder.blocks.") && name.hasSuffix(".weight") && !name.contains("_ln.")
        }
    }

    static func trainer(_ student: ParameterStore) throws -> DistillationTrainer {
        let teacher = try ParameterStore(try Checkpoint.open(TrainFixtures.randomModelQ4)) { _ in false }
        return try DistillationTrainer(student: student, teacher: teacher, objective: DistillationObjective(alpha: 0.5, temperature: 1))
    }

    @Test func gradientIsTheUnquantizedGradientAtTheDequantizedWeights() throws {
        let checkpoint = try Checkpoint.open(TrainFixtures.randomModel)
        let trainable: (String) -> Bool = { $0.hasPrefix("decoder.") }
        let quantized = try ParameterStore(checkpoint, trainable: trainable)
        let linears = Self.decoderLinears(quantized)
        #expect(linears.count == 2 * 10)
        let qat = try Self.trainer(quantized)
        try qat.quantizationAware(Dictionary(uniqueKeysWithValues: linears.map { ($0, Encoding.q4_0) }))
        // The same model with the dequantized values as plain weights.
        let plain = try ParameterStore(checkpoint, trainable: trainable)
        for name in linears {
            let dequantized = try qat.fakeQuantization!.encoded(name).decodedFloats()
            #expect(dequantized != (try plain.array(name)), "q4_0 changed \(name)")
            try plain.value(name).update(from: dequantized, count: dequantized.count)
        }
        let reference = try Self.trainer(plain)
        let batch = try ModelGradientTests.batch(2)
        let encoded = randomValues(2 * 1500 * 64, seed: 31)
        let a = try qat.computeGradients(batch, audio: .encoded(encoded))
        let b = try reference.computeGradients(batch, audio: .encoded(encoded))
        #expect(a.total == b.total)
        for e in quantized.entries where e.isTrainable {
            #expect(try quantized.gradientArray(e.name) == (try plain.gradientArray(e.name)), "gradient of \(e.name)")
        }
    }

    @Test func trainedWeightsEncodeToTheBlocksTheForwardPassUsed() throws {
        let student = try ParameterStore(try Checkpoint.open(TrainFixtures.randomModel)) { $0.hasPrefix("decoder.") }
        let linears = Self.decoderLinears(student)
        let trainer = try Self.trainer(student)
        try trainer.quantizationAware(Dictionary(uniqueKeysWithValues: linears.map { ($0, Encoding.q4_0) }))
        let batch = try ModelGradientTests.batch(2)
        let encoded = randomValues(2 * 1500 * 64, seed: 32)
        let before = try linears.map { try student.array($0) }
        for _ in 0..<3 { _ = try trainer.step(batch, audio: .encoded(encoded), learningRate: 1e-2) }
        for (name, old) in zip(linears, before) {
            let master = try student.array(name)
            #expect(master != old, "\(name) did not train")
            // What the forward pass read is exactly what the shipped blocks decode to.
            let shipped = try trainer.fakeQuantization!.encoded(name)
            #expect(shipped.encoding == .q4_0)
            let used = Array(UnsafeBufferPointer(start: try student.forward(name), count: master.count))
            #expect(try shipped.decodedFloats() == used, "\(name)")
        }
    }
}

/// Every encoding the tensor core writes can stand in front of a master weight.
struct FakeQuantizationEncodingTests {
    @Test(arguments: [Encoding.q8_0, .q5_1, .q5_0, .q4_1, .q4_0, .int8Rows, .f16, .bf16])
    func forwardReadsTheEncodedValues(_ encoding: Encoding) throws {
        let name = "decoder.blocks.0.mlp.0.weight"
        let store = try ParameterStore(try Checkpoint.open(TrainFixtures.randomModel)) { $0 == name }
        // Off the fixture's f16 grid, so that every encoding changes something.
        let values = try store.value(name)
        for (i, r) in randomValues(256 * 64, scale: 1e-3, seed: 51).enumerated() { values[i] += r }
        let master = try store.array(name)
        let fake = try FakeQuantization(store, plan: [name: encoding])
        let expected = try Tensor(shape: [256, 64], floats: master).converted(to: encoding).decodedFloats()
        let used = Array(UnsafeBufferPointer(start: try store.forward(name), count: master.count))
        #expect(used == expected, "forward values are not what \(encoding) decodes to")
        #expect(used != master, "\(encoding) left the values as they were")
        #expect(try store.array(name) == master, "the master stays f32")
        _ = fake
    }

    /// A plan's own quantizer (the search kdq compress planned with) encodes what training sees
    /// and what is shipped, instead of round-to-nearest.
    @Test func forwardReadsWhatTheGivenEncoderWrites() throws {
        let name = "decoder.blocks.0.mlp.0.weight"
        let store = try ParameterStore(try Checkpoint.open(TrainFixtures.randomModel)) { $0 == name }
        let values = try store.value(name)
        for (i, r) in randomValues(256 * 64, scale: 1e-3, seed: 52).enumerated() { values[i] += r }
        let master = try Tensor(shape: [256, 64], floats: try store.array(name))
        var named: [String] = []
        let fake = try FakeQuantization(store, plan: [name: .q4_0]) { n, values, e in
            named.append(n)
            return try values.converted(to: e, quantizer: .search)
        }
        let searched = try master.converted(to: .q4_0, quantizer: .search)
        let used = Array(UnsafeBufferPointer(start: try store.forward(name), count: master.elementCount))
        #expect(used == (try searched.decodedFloats()), "forward values are not what the given encoder wrote")
        #expect(used != (try master.converted(to: .q4_0, quantizer: .nearest).decodedFloats()), "the search made no other choice than nearest rounding")
        #expect(try fake.encoded(name).data.hasSameBytes(as: searched.data))
        #expect(named.allSatisfy { $0 == name } && !named.isEmpty)
    }
}
