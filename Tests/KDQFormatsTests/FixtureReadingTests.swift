import Foundation
import Testing
@testable import KDQFormats
import KDQJSON
import KDQTensor

/// Every fixture written by the real tools reads, and every tensor equals the f32 reference.
@Suite struct FixtureReadingTests {
    static let exactSources: [(String, CheckpointFormat)] = [
        ("tiny-random.pt", .openaiPT), ("hf-safetensors", .huggingFaceSafetensors), ("ct2-float16", .ctranslate2),
        ("ggml-tiny-random-f32.bin", .ggml), ("ggml-tiny-random-f16.bin", .ggml), ("reference-f32.safetensors", .huggingFaceSafetensors),
    ]
    static let quantizedSources = ["ggml-tiny-random-q8_0.bin", "ggml-tiny-random-q5_0.bin", "ggml-tiny-random-q5_1.bin",
                                   "ggml-tiny-random-q4_0.bin", "ggml-tiny-random-q4_1.bin", "ct2-int8"]

    @Test(arguments: exactSources)
    func lossless(_ source: (String, CheckpointFormat)) throws {
        let c = try Checkpoint.open(Fixtures.path(source.0))
        #expect(c.provenance.format == source.1)
        #expect(c.dims == Fixtures.reference.dims)
        #expect(c.tensors.count == 89)
        var worst: Float = 0
        for (name, ref) in Fixtures.reference.tensors {
            let t = try #require(c.tensor(named: name), "\(source.0) lacks \(name)")
            #expect(t.shape == ref.shape, "\(name)")
            let a = try ref.decodedFloats(), b = try t.decodedFloats()
            let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            worst = max(worst, diff)
        }
        print("\(source.0): max |difference| to reference-f32 = \(worst) (tolerance 0)")
        #expect(worst == 0)
    }

    /// Quantized tensors differ from the reference by at most one quantization step of their
    /// block (or row), plus the f16 rounding of the block's scale and minimum.
    @Test(arguments: quantizedSources)
    func quantizedWithinOneStep(_ source: String) throws {
        let c = try Checkpoint.open(Fixtures.path(source))
        #expect(c.dims == Fixtures.reference.dims)
        var worstRatio = 0.0
        for (name, ref) in Fixtures.reference.tensors {
            let t = try #require(c.tensor(named: name))
            guard t.encoding.isQuantized else { continue }
            let a = try ref.decodedFloats(), b = try t.decodedFloats()
            for i in 0..<a.count {
                let bound = Self.stepBound(t, element: i)
                let ratio = Double(abs(a[i] - b[i])) / bound
                worstRatio = max(worstRatio, ratio)
                if ratio > 1 { Issue.record("\(source) \(name)[\(i)]: |\(a[i]) - \(b[i])| exceeds the step bound \(bound)"); break }
            }
        }
        print("\(source): worst error = \(worstRatio) of the per-block quantization step bound")
    }

    /// One quantization step of the block or row holding `element`.
    static func stepBound(_ t: Tensor, element i: Int) -> Double {
        let b = t.data.bytes
        if t.encoding == .int8Rows {
            let row = i / (t.elementCount / t.shape[0])
            let scale = t.scales!.bytes.loadUnaligned(fromByteOffset: 4 * row, as: Float.self)
            return 0.5001 / Double(scale) + 1e-9
        }
        let block = (i / 32) * t.encoding.blockBytes
        let d = Double(abs(HalfPrecision.f16ToFloat(b.loadUnaligned(fromByteOffset: block, as: UInt16.self))))
        let hasMin = t.encoding == .q4_1 || t.encoding == .q5_1
        let m = hasMin ? Double(abs(HalfPrecision.f16ToFloat(b.loadUnaligned(fromByteOffset: block + 2, as: UInt16.self)))) : 0
        let levels = t.encoding == .q8_0 ? 128.0 : (t.encoding == .q4_0 || t.encoding == .q4_1 ? 16.0 : 32.0)
        return d * 1.0001 + (d * levels + m) * 0.0005 + 1e-9
    }

    /// Dequantized values equal, bit for bit, those of independent implementations (ggml's
    /// numpy dequantizer from the gguf package; numpy q / scale for CTranslate2), recorded by
    /// scripts/make-dequant-goldens.py as SHA-256 of each tensor's f32 bytes.
    @Test func dequantizationMatchesReferenceImplementations() throws {
        let goldens = try JSONValue.parse(try Fixtures.bytes("dequantized-sha256.json"))
        var checked = 0
        for (file, tensors) in try #require(goldens.objectValue).entries {
            let c = try Checkpoint.open(Fixtures.path(file.replacingOccurrences(of: "/model.bin", with: "")))
            for (name, hash) in try #require(tensors.objectValue).entries {
                var values: [Float] = []
                for part in Self.canonicalParts(of: name, ggml: file.hasSuffix(".bin") && !file.contains("/")) {
                    values += try #require(c.tensor(named: part), "\(file): \(part)").decodedFloats()
                }
                let digest = values.withUnsafeBytes { SHA256Hasher.hex($0) }
                #expect(digest == hash.stringValue, "\(file): \(name)")
                checked += 1
            }
        }
        print("dequantization: \(checked) tensors bit-identical to the reference implementations")
        #expect(checked > 200)
    }

    /// The canonical tensors a source tensor became, in row order (CTranslate2's fused
    /// projections split into several).
    static func canonicalParts(of name: String, ggml: Bool) -> [String] {
        if ggml { return [name] }
        if let whole = CT2Names.variables[name] { return [whole] }
        let module = String(name[..<name.lastIndex(of: "/")!])
        return CT2Names.module(module)!.parts.map { $0 + ".weight" }
    }

    @Test func ggmlCarriesMelFiltersAndVocabulary() throws {
        let c = try Checkpoint.open(Fixtures.path("ggml-tiny-random-q5_0.bin"))
        let mel = try #require(c.melFilters)
        #expect(mel.nMels == 80 && mel.nFrequencies == 201 && mel.values.count == 80 * 201)
        #expect(c.tokenizer.vocabulary?.count == 50256)
        #expect(c.tensor(named: "encoder.conv1.bias")?.shape == [64])
        #expect(c.tensor(named: "encoder.blocks.0.mlp.0.weight")?.encoding == .q5_0)
    }

    @Test func ctranslate2CarriesVocabularyAndTokenizer() throws {
        let c = try Checkpoint.open(Fixtures.path("ct2-float16"))
        #expect(c.tokenizer.vocabulary?.count == 1024)
        #expect(c.tokenizer.spelling == .byteLevel)
        #expect(c.tokenizer.tokenizerJSON?.count == 2_128_466)
        #expect(c.tensor(named: "encoder.blocks.0.attn.key.bias") == nil)
    }

    @Test func ctranslate2TensorsViewTheMappedFile() throws {
        let c = try Checkpoint.open(Fixtures.path("ct2-float16"))
        #expect(c.tensors.allSatisfy { $0.tensor.data.isMapped })
    }

    @Test func torchTensorsViewTheMappedFile() throws {
        let c = try Checkpoint.open(Fixtures.path("tiny-random.pt"))
        #expect(c.tensors.allSatisfy { $0.tensor.data.isMapped })
    }

    @Test func huggingFaceConfigGivesDimsAndSpecialTokens() throws {
        let c = try Checkpoint.open(Fixtures.path("hf-safetensors/model.safetensors"))
        #expect(c.dims.nAudioHead == 2)
        #expect(c.tokenizer.specialTokens["<|startoftranscript|>"] == 1022)
    }

    @Test func formatIsChosenByBytesNotName() throws {
        let scratch = ScratchDirectory()
        let renamed = try scratch.write("model.safetensors", try Fixtures.bytes("ggml-tiny-random-f16.bin"))
        #expect(try Checkpoint.open(renamed).provenance.format == .ggml)
    }

    @Test func shaOfProvenanceMatchesFile() throws {
        let c = try Checkpoint.open(Fixtures.path("tiny-random.pt"))
        let expected = try Fixtures.bytes("tiny-random.pt").withUnsafeBytes { SHA256Hasher.hex($0) }
        #expect(c.provenance.sha256 == expected)
        #expect(c.provenance.size == 930_900)
    }
}

@Suite struct DerivedMaterialTests {
    /// whisper.cpp's converter copies openai-whisper's mel_filters.npz into the ggml file; the
    /// computed slaney filterbank must reproduce it.
    @Test func slaneyFiltersMatchTheOnesWhisperShips() throws {
        let shipped = try #require(try Checkpoint.open(Fixtures.path("ggml-tiny-random-f16.bin")).melFilters)
        let computed = MelFilters.slaney(nMels: 80)
        #expect(computed.nFrequencies == shipped.nFrequencies)
        let worst = zip(shipped.values, computed.values).map { abs($0 - $1) }.max() ?? 0
        let scale = shipped.values.map(abs).max() ?? 1
        print("slaney mel filters: max |difference| to whisper's = \(worst) (tolerance \(scale * 1e-6))")
        #expect(worst <= scale * 1e-6)
    }

    @Test func byteLevelSpellingRoundTrips() {
        for bytes: [UInt8] in [[0x20, 0x74, 0x68, 0x65], [0x0A], Array(0...255)] {
            #expect(ByteLevelSpelling.unspell(ByteLevelSpelling.spell(bytes)) == bytes)
        }
        #expect(String(decoding: ByteLevelSpelling.spell(Array(" the".utf8)), as: UTF8.self) == "Ġthe")
    }

    @Test func ggmlAndCTranslate2VocabulariesAgree() throws {
        let ggml = try Checkpoint.open(Fixtures.path("ggml-tiny-random-f16.bin")).tokenizer
        let ct2 = try Checkpoint.open(Fixtures.path("ct2-float16")).tokenizer
        let n = 1000
        #expect(Array(ggml.rawVocabulary!.prefix(n)) == Array(ct2.rawVocabulary!.prefix(n)))
        #expect(Array(ggml.byteLevelVocabulary!.prefix(n)) == Array(ct2.vocabulary!.prefix(n)))
    }
}

/// The ggml encoders produce the bytes whisper.cpp's own quantizer wrote into the fixtures.
@Suite struct QuantizerAgreementTests {
    @Test(arguments: ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0"])
    func bitExactWithWhisperCppQuantize(_ type: String) throws {
        let quantized = try Checkpoint.open(Fixtures.path("ggml-tiny-random-\(type).bin"))
        var compared = 0
        for (name, t) in quantized.tensors where t.encoding.rawValue == type {
            let mine = try Fixtures.reference.tensor(named: name)!.converted(to: t.encoding)
            let same = mine.data.bytes.elementsEqual(t.data.bytes)
            #expect(same, "\(type) \(name): bytes differ from whisper.cpp's quantizer")
            compared += 1
        }
        print("\(type): \(compared) tensors byte-identical to whisper.cpp's quantizer")
        #expect(compared == 33)
    }
}

/// The error-minimizing block encoders: never worse than whisper.cpp's, better on the whole.
@Suite struct SearchQuantizerTests {
    static func squaredError(_ a: [Float], _ b: [Float], weights: [Float]? = nil, rowLength: Int = 1) -> Double {
        var e = 0.0
        for i in a.indices { e += Double(weights?[i % rowLength] ?? 1) * Double((a[i] - b[i]) * (a[i] - b[i])) }
        return e
    }

    @Test(arguments: [Encoding.q4_0, .q4_1, .q5_0, .q5_1, .q8_0])
    func searchBeatsRoundToNearest(_ e: Encoding) throws {
        var nearestTotal = 0.0, searchTotal = 0.0
        for (name, t) in Fixtures.reference.tensors where CanonicalNames.isMatrixWeight(name, shape: t.shape) {
            let x = try t.decodedFloats()
            let nearest = try t.converted(to: e).decodedFloats()
            let searched = try t.converted(to: e, quantizer: .search).decodedFloats()
            // Block by block, the search keeps whisper.cpp's block unless it finds a better one.
            for b in 0..<(x.count / 32) {
                let r = (32 * b)..<(32 * b + 32)
                #expect(Self.squaredError(Array(x[r]), Array(searched[r])) <= Self.squaredError(Array(x[r]), Array(nearest[r])) * (1 + 1e-9),
                        "\(e.rawValue) \(name) block \(b)")
            }
            nearestTotal += Self.squaredError(x, nearest)
            searchTotal += Self.squaredError(x, searched)
        }
        print("\(e.rawValue): search squared error \(searchTotal / nearestTotal) of round-to-nearest's")
        #expect(searchTotal < nearestTotal)
    }

    @Test func importanceWeightsTheError() throws {
        let t = try #require(Fixtures.reference.tensor(named: "decoder.blocks.0.mlp.0.weight"))
        let rowLength = t.shape[1]
        let importance = (0..<rowLength).map { $0 < 8 ? Float(100) : Float(0.01) }
        let x = try t.decodedFloats()
        let plain = try t.converted(to: .q4_0, quantizer: .search).decodedFloats()
        let weighted = try t.converted(to: .q4_0, quantizer: .search, importance: importance).decodedFloats()
        let e1 = Self.squaredError(x, plain, weights: importance, rowLength: rowLength)
        let e2 = Self.squaredError(x, weighted, weights: importance, rowLength: rowLength)
        print("q4_0 importance-weighted error: \(e2 / e1) of the unweighted search's")
        #expect(e2 <= e1)
        #expect(throws: TensorError.self) { try t.converted(to: .q4_0, quantizer: .search, importance: [1, 2, 3]) }
    }
}
