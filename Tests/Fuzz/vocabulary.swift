import KDQFormats

/// `--vocabulary FILE`: the first byte picks tiktoken, tokenizer.json or vocab.json.
func fuzzVocabulary(_ data: UnsafePointer<UInt8>, _ size: Int) {
    guard size > 0 else { return }
    let names = ["v.tiktoken", "tokenizer.json", "vocab.json"]
    let path = FuzzScratch.write(UnsafeRawBufferPointer(start: data + 1, count: size - 1), as: names[Int(data[0]) % names.count])
    _ = try? VocabularyFile.load(path)
}
