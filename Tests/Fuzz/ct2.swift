import KDQFormats

/// A CTranslate2 model.bin, beside the fixture's config.json and vocabulary.
func fuzzCT2(_ data: UnsafePointer<UInt8>, _ size: Int) {
    FuzzScratch.copyFixture("ct2-float16/config.json", as: "config.json")
    FuzzScratch.copyFixture("ct2-float16/vocabulary.json", as: "vocabulary.json")
    exercise(FuzzScratch.write(UnsafeRawBufferPointer(start: data, count: size), as: "model.bin"))
}
