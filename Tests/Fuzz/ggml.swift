import KDQFormats

/// whisper.cpp ggml files: the input follows the ggml magic.
func fuzzGGML(_ data: UnsafePointer<UInt8>, _ size: Int) {
    var bytes: [UInt8] = [0x6C, 0x6D, 0x67, 0x67]
    bytes += UnsafeBufferPointer(start: data, count: size)
    exercise(bytes.withUnsafeBytes { FuzzScratch.write($0, as: "model.bin") })
}
