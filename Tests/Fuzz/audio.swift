import KDQEngine

/// The audio loader's path (WAV, FLAC, Ogg through libsndfile; resampling).
func fuzzAudio(_ data: UnsafePointer<UInt8>, _ size: Int) {
    _ = try? AudioLoader.load(FuzzScratch.write(UnsafeRawBufferPointer(start: data, count: size), as: "clip.audio"))
}
