/// One piece of a transcript.
public struct TranscriptSegment: Sendable {
    public let start: Double
    public let end: Double
    public let text: String
    public let tokens: [Int]
}

/// A whole transcript with timings.
public struct Transcript: Sendable {
    public let text: String
    public let segments: [TranscriptSegment]
    /// Seconds of audio.
    public let duration: Double
    /// Seconds spent computing the mel, encoding and decoding.
    public let melSeconds: Double, encodeSeconds: Double, decodeSeconds: Double
}

/// Transcribes audio of any length window after window, as openai-whisper's `transcribe`
/// does without conditioning on previous text: the mel of the whole clip, 30-second windows
/// of it (the last one zero-padded); without timestamps each window is consumed whole, with
/// timestamps the next window starts at the last complete timestamp pair.
public struct Transcriber {
    public let model: WhisperModel
    public let options: DecodingOptions

    public init(model: WhisperModel, options: DecodingOptions) {
        self.model = model
        self.options = options
    }

    public func transcribe(_ samples: [Float]) throws -> Transcript {
        let clock = Stopwatch()
        let window = LogMelSpectrogram.windowFrames
        let nMels = model.dims.nMels
        let padding = LogMelSpectrogram.windowSamples
        let content = samples.count / LogMelSpectrogram.hop
        // openai-whisper floors the log-mel at its maximum over the whole (padded) clip − 8:
        // a first pass finds that maximum a window at a time, so memory stays bounded.
        var maximum = -Float.infinity
        for start in stride(from: 0, to: content + window, by: window) {
            let frames = start..<min(start + window, content + window)
            maximum = max(maximum, model.mel.log10Mel(samples, padding: padding, frames: frames).max() ?? maximum)
        }
        var melSeconds = clock.lap()
        var encodeSeconds = 0.0, decodeSeconds = 0.0
        var seek = 0
        var segments: [TranscriptSegment] = []
        let decoder = WindowDecoder(model: model, options: options)
        while seek < content {
            let size = min(window, content - seek)
            var mel = model.mel.log10Mel(samples, padding: padding, frames: seek..<(seek + size))
            model.mel.normalize(&mel, floor: maximum - 8)
            var segment = [Float](repeating: 0, count: nMels * window)  // zero-padded, as openai-whisper's pad_or_trim
            for m in 0..<nMels {
                for f in 0..<size { segment[m * window + f] = mel[m * size + f] }
            }
            melSeconds += clock.lap()
            let encoded = try model.encoder.encode(segment)
            encodeSeconds += clock.lap()
            let result = try decoder.decode(encoderOutput: encoded)
            decodeSeconds += clock.lap()
            let offset = Double(seek) * 0.01
            let (pieces, consumed) = split(result.tokens, tokenizer: try model.tokenizer(), offset: offset, windowFrames: size)
            segments += pieces
            seek += consumed
        }
        let text = segments.map(\.text).joined()
        return Transcript(text: text.trimmingSpaces(), segments: segments, duration: Double(samples.count) / 16000,
                          melSeconds: melSeconds, encodeSeconds: encodeSeconds, decodeSeconds: decodeSeconds)
    }

    /// Segments of one window and how many frames it consumed.
    private func split(_ tokens: [Int], tokenizer tk: WhisperTokenizer, offset: Double, windowFrames: Int) -> ([TranscriptSegment], Int) {
        guard options.timestamps, let begin = tk.timestampBegin else {
            let seg = TranscriptSegment(start: offset, end: offset + Double(windowFrames) * 0.01, text: tk.decode(tokens), tokens: tokens)
            return ([seg], windowFrames)
        }
        var segments: [TranscriptSegment] = []
        var current: [Int] = []
        var start: Double?
        var lastEnd = 0
        for t in tokens {
            if t >= begin {
                let time = Double(t - begin) * 0.02
                if let s = start, !current.isEmpty {
                    segments.append(TranscriptSegment(start: offset + s, end: offset + time, text: tk.decode(current), tokens: current))
                    current = []
                    start = nil
                    lastEnd = t - begin
                } else {
                    start = time
                }
            } else {
                current.append(t)
            }
        }
        if !current.isEmpty {
            segments.append(TranscriptSegment(start: offset + (start ?? 0), end: offset + Double(windowFrames) * 0.01,
                                              text: tk.decode(current), tokens: current))
            return (segments, windowFrames)
        }
        // Resume after the last complete segment (timestamps count 0.02 s = 2 frames).
        let consumed = lastEnd > 0 ? min(windowFrames, lastEnd * 2) : windowFrames
        return (segments, consumed)
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\n" { s = s.dropFirst() }
        while s.last == " " || s.last == "\n" { s = s.dropLast() }
        return String(s)
    }
}
