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

    /// openai-whisper's floor of the log-mel is its maximum over the whole clip, padded with
    /// 30 s of silence, less 8: the maximum, found a window at a time so memory stays bounded.
    public func logMelMaximum(_ samples: [Float]) -> Float {
        let window = LogMelSpectrogram.windowFrames, content = samples.count / LogMelSpectrogram.hop
        var maximum = -Float.infinity
        for start in stride(from: 0, to: content + window, by: window) {
            let frames = start..<min(start + window, content + window)
            maximum = max(maximum, model.mel.log10Mel(samples, padding: LogMelSpectrogram.windowSamples, frames: frames).max() ?? maximum)
        }
        return maximum
    }

    /// The encoder's input for the window at frame `seek`, as openai-whisper's `transcribe`
    /// makes it: the normalized log-mel of the clip's frames from `seek` (at most 30 s), then
    /// zeros to 30 s (`pad_or_trim` of the segment, not the log-mel of silence).
    public func melSegment(_ samples: [Float], seek: Int, maximum: Float? = nil) -> [Float] {
        let window = LogMelSpectrogram.windowFrames, nMels = model.dims.nMels
        let size = max(0, min(window, samples.count / LogMelSpectrogram.hop - seek))
        var mel = model.mel.log10Mel(samples, padding: LogMelSpectrogram.windowSamples, frames: seek..<(seek + size))
        model.mel.normalize(&mel, floor: (maximum ?? logMelMaximum(samples)) - 8)
        var segment = [Float](repeating: 0, count: nMels * window)
        for m in 0..<nMels {
            for f in 0..<size { segment[m * window + f] = mel[m * size + f] }
        }
        return segment
    }

    /// Transcribes `samples` (16 kHz mono), 30-second window after window; `encoded`, when
    /// given, receives each window's first frame and encoder output.
    public func transcribe(_ samples: [Float], encoded observe: ((_ seek: Int, _ output: [Float]) -> Void)? = nil) throws -> Transcript {
        let clock = Stopwatch()
        let content = samples.count / LogMelSpectrogram.hop
        let maximum = logMelMaximum(samples)
        var melSeconds = clock.lap()
        var encodeSeconds = 0.0, decodeSeconds = 0.0
        var seek = 0
        var segments: [TranscriptSegment] = []
        let decoder = WindowDecoder(model: model, options: options)
        while seek < content {
            let size = min(LogMelSpectrogram.windowFrames, content - seek)
            let segment = melSegment(samples, seek: seek, maximum: maximum)
            melSeconds += clock.lap()
            let encoded = try model.encoder.encode(segment)
            encodeSeconds += clock.lap()
            observe?(seek, encoded)
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

    /// Segments of one window and how many frames it consumed, as openai-whisper's
    /// `transcribe` cuts them: at each pair of consecutive timestamps; text after the last pair
    /// is dropped and decoded again from the next window unless a single timestamp ends it.
    private func split(_ tokens: [Int], tokenizer tk: WhisperTokenizer, offset: Double, windowFrames: Int) -> ([TranscriptSegment], Int) {
        let whole = TranscriptSegment(start: offset, end: offset + Double(windowFrames) * 0.01, text: tk.decode(tokens), tokens: tokens)
        guard options.timestamps, let begin = tk.timestampBegin else { return ([whole], windowFrames) }
        let isTimestamp = tokens.map { $0 >= begin }
        let singleTimestampEnding = isTimestamp.count >= 2 && !isTimestamp[isTimestamp.count - 2] && isTimestamp[isTimestamp.count - 1]
        var slices = (1..<max(1, tokens.count)).filter { isTimestamp[$0 - 1] && isTimestamp[$0] }
        guard !slices.isEmpty else {
            let last = tokens.last { $0 >= begin }
            let duration = last.map { $0 != begin ? Double($0 - begin) * 0.02 : Double(windowFrames) * 0.01 } ?? Double(windowFrames) * 0.01
            return ([TranscriptSegment(start: offset, end: offset + duration, text: tk.decode(tokens), tokens: tokens)], windowFrames)
        }
        if singleTimestampEnding { slices.append(tokens.count) }
        var segments: [TranscriptSegment] = []
        var lastSlice = 0
        for slice in slices {
            let piece = Array(tokens[lastSlice..<slice])
            segments.append(TranscriptSegment(start: offset + Double(piece[0] - begin) * 0.02, end: offset + Double(piece[piece.count - 1] - begin) * 0.02,
                                              text: tk.decode(piece), tokens: piece))
            lastSlice = slice
        }
        if singleTimestampEnding { return (segments, windowFrames) }
        let consumed = (tokens[lastSlice - 1] - begin) * 2  // a timestamp step is 0.02 s = 2 frames
        return (segments, consumed > 0 ? min(consumed, windowFrames) : windowFrames)
    }
}

extension String {
    /// Without leading and trailing spaces and newlines.
    public func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\n" { s = s.dropFirst() }
        while s.last == " " || s.last == "\n" { s = s.dropLast() }
        return String(s)
    }
}
