import KDQFormats

/// A Hugging Face .safetensors file (header length, JSON header, tensor data).
func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) {
    exercise(FuzzScratch.write(UnsafeRawBufferPointer(start: data, count: size), as: "model.safetensors"))
}
