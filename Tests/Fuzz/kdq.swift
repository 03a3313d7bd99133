import KDQFormats

/// .kdq archives (tar layout, manifest, members, optional zstd/xz), opened and verified.
func fuzzKDQ(_ data: UnsafePointer<UInt8>, _ size: Int) {
    let path = FuzzScratch.write(UnsafeRawBufferPointer(start: data, count: size), as: "model.kdq")
    exercise(path)
    _ = try? KDQVerifier.verify(path)
}
