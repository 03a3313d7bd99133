@testable import KDQFormats
import KDQTensor

/// CTranslate2's vocabulary and config files beside the fixture's model.bin: the first byte
/// picks which file the rest of the input is. model.bin's weights are not under test here:
/// they are read once, and each input goes through what reads the files beside them
/// (`CT2Reader.assemble`: the vocabulary, tokenizer.json, config.json, the checkpoint's checks).
func fuzzCT2Vocabulary(_ data: UnsafePointer<UInt8>, _ size: Int) {
    guard size > 0, let (modelFile, weights) = CT2VocabularyFixture.weights else { return }
    let names = ["vocabulary.json", "config.json", "tokenizer.json"]
    let name = names[Int(data[0]) % names.count]
    _ = FuzzScratch.write(UnsafeRawBufferPointer(start: data + 1, count: size - 1), as: name)
    if let checkpoint = try? CT2Reader.assemble(directory: FuzzScratch.directory, weights: weights, modelFile: modelFile) {
        _ = checkpoint.tokenizer.completeByteLevelVocabulary(nVocab: checkpoint.dims.nVocab)
    }
    // Restore what this input replaced for the next one (the fixture's 2 MB tokenizer.json
    // stays out: with it every input would parse it first).
    if name == "tokenizer.json" { FuzzScratch.remove(name) } else { FuzzScratch.restoreFixture("ct2-float16/" + name, as: name) }
}

enum CT2VocabularyFixture {
    /// The fixture's model.bin, mapped and read once per process.
    static let weights: (MappedFile, (dims: ModelDims, tensors: [String: Tensor]))? = {
        FuzzScratch.copyFixture("ct2-float16/model.bin", as: "model.bin")
        FuzzScratch.copyFixture("ct2-float16/config.json", as: "config.json")
        FuzzScratch.copyFixture("ct2-float16/vocabulary.json", as: "vocabulary.json")
        guard let file = try? MappedFile(path: FuzzScratch.directory + "/model.bin"),
              let weights = try? CT2Reader.readWeights(file) else { return nil }
        return (file, weights)
    }()
}
