import KDQFormats

/// CTranslate2's vocabulary and config files beside the fixture's model.bin: the first byte
/// picks which file the rest of the input is.
func fuzzCT2Vocabulary(_ data: UnsafePointer<UInt8>, _ size: Int) {
    guard size > 0 else { return }
    FuzzScratch.copyFixture("ct2-float16/model.bin", as: "model.bin")
    FuzzScratch.copyFixture("ct2-float16/config.json", as: "config.json")
    FuzzScratch.copyFixture("ct2-float16/vocabulary.json", as: "vocabulary.json")
    let names = ["vocabulary.json", "config.json", "tokenizer.json"]
    let name = names[Int(data[0]) % names.count]
    _ = FuzzScratch.write(UnsafeRawBufferPointer(start: data + 1, count: size - 1), as: name)
    // The fixture's tensors are not under test here: decoding them would be half of every run.
    exercise(FuzzScratch.directory + "/model.bin", decodeTensors: false)
    // Restore what this input replaced for the next one (the fixture's 2 MB tokenizer.json
    // stays out: with it every input would parse it first).
    FuzzScratch.remove(name)
    if name != "tokenizer.json" { FuzzScratch.copyFixture("ct2-float16/" + name, as: name) }
}
