import KDQFormats

/// OpenAI .pt files (a torch.save zip read through libarchive, the restricted unpickler).
func fuzzTorch(_ data: UnsafePointer<UInt8>, _ size: Int) {
    exercise(FuzzScratch.write(UnsafeRawBufferPointer(start: data, count: size), as: "model.pt"))
}
