/// A model's own greedy transcript of one 30-second window, taken as a label to train or
/// calibrate on: the whole sequence (prompt, sampled tokens, end of text) and where the sampled
/// tokens start. One rule for every caller decides when such a transcript is unusable.
public struct GreedyLabel: Sendable, Equatable {
    public let tokens: [Int]
    /// Tokens of the prompt (start of transcript, language, task, no timestamps).
    public let promptLength: Int

    /// A transcript of this many sampled tokens is taken as one that never ends (a repetition loop).
    public static let longest = 200

    public init(tokens: [Int], promptLength: Int) {
        self.tokens = tokens
        self.promptLength = promptLength
    }

    /// Tokens the model sampled: neither the prompt nor the end of text.
    public var sampled: Int { tokens.count - promptLength - 1 }

    /// Why this transcript cannot be a label (it never ends, or is empty); nil when it can.
    public var unusable: String? {
        sampled >= Self.longest ? "the teacher's transcript never ends" : sampled <= 0 ? "the teacher heard nothing" : nil
    }
}

extension WhisperModel {
    /// The greedy transcript of `encoderOutput` (one window) with `options`, as a label.
    public func greedyLabel(encoderOutput: [Float], options: DecodingOptions = DecodingOptions()) throws -> GreedyLabel {
        let tokens = try greedySequence(encoderOutput: encoderOutput, options: options)
        return GreedyLabel(tokens: tokens, promptLength: try teacherSequence(text: "", options: options).count - 1)
    }
}
