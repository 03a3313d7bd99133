import Testing
@testable import KDQFormats
import KDQTensor

/// The real tiny.en and base (CTranslate2 fp16, from PyPI via scripts/fetch-models.sh).
/// Skipped when the models have not been fetched; CI fetches them.
@Suite struct RealModelTests {
    struct Expected: Sendable, CustomStringConvertible {
        let name: String
        let width: Int, heads: Int, layers: Int, vocab: Int
        let tensors: Int, parameters: Int, startOfTranscript: Int
        var description: String { name }
    }

    static let models = [
        Expected(name: "tiny.en", width: 384, heads: 6, layers: 4, vocab: 51864, tensors: 167, parameters: 37_760_256, startOfTranscript: 50257),
        Expected(name: "base", width: 512, heads: 8, layers: 6, vocab: 51865, tensors: 245, parameters: 72_593_920, startOfTranscript: 50258),
    ]

    @Test(.enabled(if: models.allSatisfy { Fixtures.realModel($0.name) != nil }, "run scripts/fetch-models.sh"), arguments: models)
    func readsWithTheRightDims(_ m: Expected) throws {
        let c = try Checkpoint.open(Fixtures.realModel(m.name)!)
        #expect(c.tensors.count == m.tensors)
        #expect(c.dims == ModelDims(nMels: 80, nAudioCtx: 1500, nAudioState: m.width, nAudioHead: m.heads, nAudioLayer: m.layers,
                                    nVocab: m.vocab, nTextCtx: 448, nTextState: m.width, nTextHead: m.heads, nTextLayer: m.layers))
        #expect(c.dims.modelSizeName == m.name)
        #expect(c.parameterCount == m.parameters)
        #expect(c.tokenizer.specialTokens["<|startoftranscript|>"] == m.startOfTranscript)
        #expect(c.tensors.allSatisfy { $0.tensor.encoding == .f16 })
    }
}

extension RealModelTests {
    @Test(.enabled(if: models.allSatisfy { Fixtures.realModel($0.name) != nil }, "run scripts/fetch-models.sh"), arguments: models)
    func specialTokenNamesMatchTheRealVocabulary(_ m: Expected) throws {
        let c = try Checkpoint.open(Fixtures.realModel(m.name)!)
        let vocabulary = try #require(c.tokenizer.vocabulary)
        let eot = try #require(WhisperVocabulary.endOfText(nVocab: m.vocab))
        let names = try #require(WhisperVocabulary.specialTokens(nVocab: m.vocab))
        let found = vocabulary[eot...].map { String(decoding: $0, as: UTF8.self) }
        let firstMismatch = zip(found, names).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(found.count == names.count && firstMismatch == nil, "first mismatch: \(String(describing: firstMismatch))")
        // Completing the BPE tokens alone (as whisper.cpp stores them) gives the full list back.
        let bpeOnly = TokenizerMaterial(vocabulary: Array(vocabulary.prefix(eot)), spelling: .byteLevel)
        #expect(bpeOnly.completeByteLevelVocabulary(nVocab: m.vocab) == vocabulary)
        let languages = WhisperVocabulary.languageTokenIDs(c.tokenizer.specialTokens)
        #expect(languages.count == 99 && languages.first == eot + 2 && languages.last == eot + 100)
    }
}
