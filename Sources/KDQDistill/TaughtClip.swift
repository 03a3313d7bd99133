import KDQEngine
import KDQTrain

/// One clip prepared for the student: its frozen encoder's output and the token sequence the
/// decoder is taught (prompt, text, end of text).
public struct TaughtClip: Sendable {
    public let id: String
    /// n_audio_ctx × n_audio_state values.
    public let encoderOutput: [Float]
    public let tokens: [Int]
    /// Tokens of the prompt at the start of `tokens` (not predicted).
    public let promptLength: Int

    public init(id: String, encoderOutput: [Float], tokens: [Int], promptLength: Int) {
        self.id = id
        self.encoderOutput = encoderOutput
        self.tokens = tokens
        self.promptLength = promptLength
    }

    /// The teacher's greedy transcript of `samples` (at most 30 s, one padded window) as a taught clip.
    public static func teacherLabelled(id: String, samples: [Float], teacher: WhisperModel, options: DecodingOptions) throws -> TaughtClip {
        let encoded = try teacher.encoder.encode(teacher.melWindow(samples))
        let label = try teacher.greedyLabel(encoderOutput: encoded, options: options)
        return TaughtClip(id: id, encoderOutput: encoded, tokens: label.tokens, promptLength: label.promptLength)
    }
}

extension TokenBatch {
    /// Clips as one right-padded batch: position i reads token i and predicts token i + 1;
    /// the prompt's own tokens and the padding are not predicted (target −1).
    public init(_ clips: [TaughtClip], padding: Int) throws {
        let length = max(1, (clips.map(\.tokens.count).max() ?? 2) - 1)
        var tokens: [Int32] = [], targets: [Int32] = []
        for c in clips {
            for i in 0..<length {
                tokens.append(Int32(i < c.tokens.count ? c.tokens[i] : padding))
                let predicts = i + 1 < c.tokens.count && i + 1 >= c.promptLength
                targets.append(predicts ? Int32(c.tokens[i + 1]) : -1)
            }
        }
        try self.init(batch: clips.count, length: length, tokens: tokens, targets: targets)
    }
}
