import CSndFile
import CSoxr

/// Decodes an audio file (WAV, FLAC, OGG/Vorbis, MP3 and whatever else libsndfile reads),
/// mixes it to mono and resamples it to 16 kHz with libsoxr (high quality).
public enum AudioLoader {
    /// Whisper's sample rate.
    public static let sampleRate = 16000
    /// The longest input accepted, in seconds (4 hours).
    public static let maxSeconds = 4 * 3600
    /// The sample rates accepted: from telephone-band audio's neighbourhood (no speech lives
    /// below it, and resampling 1 Hz to 16 kHz turned a 3 KB file into 25 M samples of filter
    /// work, a fuzzing finding) to the highest rates recorders use.
    public static let sampleRates = 1_000...768_000

    /// The file's first 30-second window (all of a shorter clip), 16 kHz mono: what one
    /// encoder pass over the clip sees.
    public static func window(_ path: String) throws -> [Float] {
        Array(try load(path).prefix(LogMelSpectrogram.windowSamples))
    }

    /// The file's samples, 16 kHz mono, in [-1, 1].
    public static func load(_ path: String) throws -> [Float] {
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            throw EngineError(.audio, "cannot read audio: \(String(cString: sf_strerror(nil)))", path: path)
        }
        defer { sf_close(file) }
        let channels = Int(info.channels), rate = Int(info.samplerate), frames = Int(info.frames)
        guard channels > 0, rate > 0 else { throw EngineError(.audio, "audio has \(channels) channels at \(rate) Hz", path: path) }
        guard sampleRates.contains(rate) else {
            throw EngineError(.audio, "audio at \(rate) Hz: kdq reads sample rates from \(sampleRates.lowerBound) to \(sampleRates.upperBound) Hz",
                              path: path)
        }
        let limit = maxSeconds * rate
        guard frames <= limit else {
            throw EngineError(.audio, "audio lasts \(frames / rate) s, longer than the \(maxSeconds) s kdq accepts", path: path)
        }
        // Decoded a block at a time, mixed to mono as it comes: memory follows the samples the
        // file really holds, not the frame count its header declares.
        let blockFrames = max(1, 65_536 / channels)
        var block = [Float](repeating: 0, count: blockFrames * channels)
        var mono: [Float] = []
        mono.reserveCapacity(min(max(0, frames), 30 * rate))
        let scale = 1 / Float(channels)
        while true {
            let read = Int(sf_readf_float(file, &block, sf_count_t(blockFrames)))
            guard read > 0 else { break }
            guard mono.count + read <= limit else {
                throw EngineError(.audio, "audio decodes to more than the \(maxSeconds) s kdq accepts", path: path)
            }
            if channels == 1 {
                mono += block[0..<read]
            } else {
                for i in 0..<read {
                    var s: Float = 0
                    for c in 0..<channels { s += block[i * channels + c] }
                    mono.append(s * scale)
                }
            }
        }
        guard !mono.isEmpty else { throw EngineError(.audio, frames > 0 ? "no samples could be decoded" : "audio has no samples", path: path) }
        return rate == sampleRate ? mono : try resample(mono, from: rate, path: path)
    }

    /// libsoxr's high-quality resampler, fed `streamBlock` samples at a time. One call with the
    /// whole input (`soxr_oneshot`) gives the same samples but makes libsoxr hold its own copy
    /// of all of them in buffers it grows with `realloc`: two hours at 8 kHz took 3.3 s and
    /// 1.3 GB that way against 1.2 s and 0.66 GB streamed.
    static func resample(_ input: [Float], from rate: Int, path: String) throws -> [Float] {
        let outLength = Int((Double(input.count) * Double(sampleRate) / Double(rate)).rounded())
        var output = [Float](repeating: 0, count: outLength + 16)
        var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
        var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        func failed(_ reason: String) -> EngineError { EngineError(.audio, "resampling from \(rate) Hz failed: \(reason)", path: path) }
        var error: soxr_error_t?
        guard let resampler = soxr_create(Double(rate), Double(sampleRate), 1, &error, &io, &quality, nil), error == nil else {
            throw failed(error.map { String(cString: $0) } ?? "no resampler")
        }
        defer { soxr_delete(resampler) }
        var consumed = 0, produced = 0
        try input.withUnsafeBufferPointer { inp in
            try output.withUnsafeMutableBufferPointer { out in
                guard let inBase = inp.baseAddress, let outBase = out.baseAddress else { return }
                // Input a block at a time, then empty calls that flush the filter's tail, until
                // a call moves nothing or the output is full.
                while produced < out.count {
                    let length = min(streamBlock, inp.count - consumed)
                    var taken = 0, made = 0
                    let failure = soxr_process(resampler, length > 0 ? inBase + consumed : nil, length, &taken,
                                               outBase + produced, out.count - produced, &made)
                    if let failure { throw failed(String(cString: failure)) }
                    consumed += taken
                    produced += made
                    if taken == 0 && made == 0 { break }
                }
            }
        }
        return Array(output.prefix(produced))
    }

    /// Input samples per call of the streaming resampler.
    static let streamBlock = 1 << 16
}
