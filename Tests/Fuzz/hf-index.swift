import KDQFormats

/// A sharded Hugging Face directory: the input is model.safetensors.index.json beside the
/// fixture's config.json and one shard.
func fuzzHFIndex(_ data: UnsafePointer<UInt8>, _ size: Int) {
    FuzzScratch.copyFixture("hf-safetensors/config.json", as: "config.json")
    FuzzScratch.copyFixture("hf-safetensors/model.safetensors", as: "model-00001-of-00001.safetensors")
    _ = FuzzScratch.write(UnsafeRawBufferPointer(start: data, count: size), as: "model.safetensors.index.json")
    // The shard's tensors are the fixture's, whatever the index says: decoding them (the
    // sizes are checked when they are read) would be over a third of every run.
    exercise(FuzzScratch.directory, decodeTensors: false)
}
