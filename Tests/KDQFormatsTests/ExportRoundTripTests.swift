import Foundation
import Testing
@testable import KDQFormats
import KDQTensor

/// Every fixture → `.kdq` → every export target → read back: each tensor equals the source
/// exactly unless the export reported converting it to a lossy encoding, and then it stays
/// within that encoding's error.
@Suite struct ExportRoundTripTests {
    let scratch = ScratchDirectory()

    static let cases: [(String, ExportTarget)] = ArchiveTests.sources.flatMap { s in ExportTarget.allCases.map { (s, $0) } }

    @Test(arguments: cases)
    func roundTrip(_ fixture: String, _ target: ExportTarget) throws {
        let source = try Checkpoint.open(Fixtures.path(fixture))
        let archive = scratch.path + "/model.kdq"
        try KDQArchiveWriter.write(source, to: archive)
        let out = scratch.path + "/export-\(target.rawValue)"
        let noVocabulary = source.tokenizer.completeByteLevelVocabulary(nVocab: source.dims.nVocab) == nil
        let noReleaseSize = WhisperVocabulary.endOfText(nVocab: source.dims.nVocab) == nil
        if (target == .ggml || target == .ct2) && noVocabulary || target == .pt && noReleaseSize {
            // A runtime that could not print text gets no file (exportWithoutVocabularyIsRefused).
            #expect(throws: FormatError.self) { try target.write(try Checkpoint.open(archive), to: out) }
            return
        }
        let report = try target.write(try Checkpoint.open(archive), to: out)
        let back = try Checkpoint.open(out)
        let expectedFormat: CheckpointFormat = [.ggml: .ggml, .ct2: .ctranslate2, .hf: .huggingFaceSafetensors, .pt: .openaiPT][target]!
        #expect(back.provenance.format == expectedFormat)
        #expect(back.dims == source.dims)
        #expect(back.tensors.count == source.tensors.count)
        let lossy = Dictionary(report.conversions.filter { $0.to != .f32 && !($0.from == .f16 && $0.to == .f16) }.map { ($0.tensor, $0) }) { a, _ in a }
        var exact = 0, worst = 0.0
        for (name, t) in source.tensors {
            let r = try #require(back.tensor(named: name), "\(name) missing after \(target)")
            let a = try t.decodedFloats(), b = try r.decodedFloats()
            if let conversion = lossy[name] {
                let norm = a.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot()
                let err = zip(a, b).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }.squareRoot()
                worst = max(worst, err / max(norm, 1e-30))
                #expect(err <= 0.02 * norm, "\(name): \(conversion.from.rawValue) -> \(conversion.to.rawValue) relative error \(err / norm)")
            } else {
                #expect(a == b, "\(name) changed without a reported lossy conversion (\(t.encoding.rawValue) -> \(r.encoding.rawValue))")
                if a == b { exact += 1 }
            }
        }
        print("\(fixture) -> \(target.rawValue): \(exact) tensors bit-exact, \(lossy.count) converted (worst relative error \(worst))")
    }

    @Test func encodingsSurviveWhereTheTargetHasThem() throws {
        let q5 = try Checkpoint.open(Fixtures.path("ggml-tiny-random-q5_0.bin"))
        let out = scratch.path + "/q5.bin"
        let report = try GGMLWriter.write(q5, to: out)
        #expect(report.conversions.isEmpty)
        let original = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("ggml-tiny-random-q5_0.bin")))
        let written = try Data(contentsOf: URL(fileURLWithPath: out))
        #expect(original == written, "a ggml file written back from itself is byte-identical")

        let int8 = try Checkpoint.open(Fixtures.path("ct2-int8"))
        let ct2 = scratch.path + "/int8"
        _ = try CT2Writer.write(int8, toDirectory: ct2)
        let back = try Checkpoint.open(ct2)
        for (name, t) in int8.tensors {
            let r = back.tensor(named: name)!
            #expect(r.encoding == t.encoding && r.data.bytes.elementsEqual(t.data.bytes), "\(name)")
            #expect(r.scales.map { Array($0.bytes) } == t.scales.map { Array($0.bytes) }, "\(name) scales")
        }
    }

    /// A block-encoded convolution (kdq's plans may quantize one) is written as the runtime
    /// holds convolutions: f16 for whisper.cpp, int8 rows for CTranslate2 (as its own int8
    /// models store them).
    @Test(arguments: [(ExportTarget.ggml, Encoding.f16), (.ct2, .int8Rows)])
    func aQuantizedConvolutionIsWrittenAsTheRuntimeHoldsIt(_ target: ExportTarget, _ expected: Encoding) throws {
        let c = try Checkpoint.open(Fixtures.path("ct2-float16"))
        var tensors = Dictionary(uniqueKeysWithValues: c.tensors.map { ($0.name, $0.tensor) })
        let conv = try #require(tensors["encoder.conv2.weight"])
        tensors["encoder.conv2.weight"] = try conv.converted(to: .q8_0)
        let quantized = try Checkpoint(dims: c.dims, tensors: tensors, tokenizer: c.tokenizer, melFilters: c.melFilters, provenance: c.provenance)
        let out = scratch.path + "/conv-\(target.rawValue)"
        let report = try target.write(quantized, to: out)
        #expect(report.conversions.contains { $0.tensor == "encoder.conv2.weight" && $0.from == .q8_0 && $0.to == expected }, "\(report.conversions)")
        let back = try #require(try Checkpoint.open(out).tensor(named: "encoder.conv2.weight"))
        #expect(back.encoding == expected && back.shape == conv.shape)
        let a = try tensors["encoder.conv2.weight"]!.decodedFloats(), b = try back.decodedFloats()
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0, largest = a.map(abs).max() ?? 0
        #expect(worst <= 0.01 * largest, "max difference \(worst) of values up to \(largest)")
    }

    /// Computed positions (`sinusoids`, no bytes in a .kdq archive) are written as values in
    /// every format, which all store the encoder's positions (openai-whisper's from a model of
    /// a release's vocabulary size).
    @Test(arguments: [(ExportTarget.ggml, "ct2-float16"), (.ct2, "ct2-float16"), (.hf, "ct2-float16"), (.pt, "random-v3.pt")])
    func computedPositionsAreWrittenAsValues(_ target: ExportTarget, _ fixture: String) throws {
        var computed = try Checkpoint.open(Fixtures.path(fixture))
        let positions = try #require(computed.tensor(named: "encoder.positional_embedding"))
        _ = try computed.convertTensors { name, _ in name == "encoder.positional_embedding" ? .sinusoids : nil }
        let out = scratch.path + "/sinusoids-\(target.rawValue)"
        let report = try target.write(computed, to: out)
        #expect(report.conversions.contains { $0.tensor == "encoder.positional_embedding" && $0.from == .sinusoids }, "\(report.conversions)")
        let back = try #require(try Checkpoint.open(out).tensor(named: "encoder.positional_embedding"))
        #expect(back.shape == positions.shape && back.encoding != .sinusoids)
        let a = try computed.tensor(named: "encoder.positional_embedding")!.decodedFloats(), b = try back.decodedFloats()
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        print("\(target.rawValue): positions written as \(back.encoding.rawValue), max difference from the computed table \(worst)")
        #expect(worst <= 0.000489)
    }

    @Test func ggmlFromCTranslate2CarriesVocabularyAndFilters() throws {
        let c = try Checkpoint.open(Fixtures.path("ct2-float16"))
        let out = scratch.path + "/ct2.bin"
        let report = try GGMLWriter.write(c, to: out)
        #expect(report.omissions.contains { $0.contains("slaney") })
        let back = try Checkpoint.open(out)
        #expect(back.melFilters?.values == MelFilters.slaney(nMels: 80).values)
        #expect(back.tokenizer.vocabulary == c.tokenizer.rawVocabulary)
    }

    /// whisper.cpp and faster-whisper load a model without a vocabulary but cannot print text:
    /// no such file is written, and the error says what is missing.
    @Test(arguments: [ExportTarget.ggml, .ct2])
    func exportWithoutVocabularyIsRefused(_ target: ExportTarget) throws {
        let c = try Checkpoint.open(Fixtures.path("tiny-random.pt"))
        let out = scratch.path + "/novocab-\(target.rawValue)"
        #expect {
            try target.write(c, to: out)
        } throws: { error in
            (error as? FormatError).map { $0.code == .unsupported && $0.message.contains("carries no vocabulary") && $0.path == out } ?? false
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// An OpenAI checkpoint written by kdq reads back tensor for tensor, and gets its
    /// vocabulary back from the size (scripts/pt-check.sh loads it in openai-whisper and torch).
    @Test func releasedModelRoundTripsThroughPT() throws {
        guard let path = Fixtures.realModel("tiny.en") else { return }
        let source = try Checkpoint.open(path)
        let out = scratch.path + "/tiny.en.pt"
        let report = try TorchCheckpointWriter.write(source, to: out)
        #expect(report.conversions.isEmpty)
        let back = try Checkpoint.open(out)
        #expect(back.provenance.format == .openaiPT && back.dims == source.dims)
        for (name, t) in source.tensors {
            let r = try #require(back.tensor(named: name))
            #expect(r.encoding == t.encoding && r.shape == t.shape && r.data.bytes.elementsEqual(t.data.bytes), "\(name)")
        }
        #expect(back.tokenizer.completeByteLevelVocabulary(nVocab: 51864)?.prefix(50256) == source.tokenizer.completeByteLevelVocabulary(nVocab: 51864)?.prefix(50256))
    }

    @Test func ptOfANonReleaseVocabularyIsRefused() throws {
        let c = try Checkpoint.open(Fixtures.path("tiny-random.pt"))
        let out = scratch.path + "/random.pt"
        #expect {
            try TorchCheckpointWriter.write(c, to: out)
        } throws: { error in
            (error as? FormatError).map { $0.code == .unsupported && $0.message.contains("n_vocab 1024") } ?? false
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func directoryOutputReplacesAPreviousExport() throws {
        let c = try Checkpoint.open(Fixtures.path("ct2-float16"))
        let out = scratch.path + "/again"
        _ = try CT2Writer.write(c, toDirectory: out)
        _ = try CT2Writer.write(c, toDirectory: out)
        #expect(try Checkpoint.open(out).tensors.count == 89)
    }

    @Test func fileOutputRefusesADirectory() throws {
        let c = try Checkpoint.open(Fixtures.path("ct2-float16"))
        #expect(throws: FormatError.self) { try GGMLWriter.write(c, to: scratch.path) }
    }
}
