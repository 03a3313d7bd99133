#if canImport(Glibc)
import Glibc
#endif

/// openai-whisper's logit filters for greedy and beam decoding: suppressed tokens everywhere,
/// blank and end of text at the first sampled position, and (with timestamps) the timestamp
/// rules.
struct LogitFilters {
    let suppressed: [Int]
    let blankSuppressed: [Int]
    let tokenizer: WhisperTokenizer
    let withTimestamps: Bool
    let sampleBegin: Int
    let maxInitialTimestampIndex = 50  // 1.0 s, as openai-whisper

    /// `suppressTokens` nil: openai-whisper's default, the non-speech tokens.
    init(tokenizer: WhisperTokenizer, suppressTokens: [Int]?, withTimestamps: Bool, sampleBegin: Int) {
        var s = suppressTokens ?? tokenizer.nonSpeechTokens
        s += [tokenizer.transcribe, tokenizer.translate, tokenizer.startOfTranscript, tokenizer.startOfPrevious,
              tokenizer.startOfLM, tokenizer.noSpeech].compactMap { $0 }
        suppressed = Array(Set(s.filter { $0 >= 0 })).sorted()
        blankSuppressed = [220, tokenizer.endOfText]
        self.tokenizer = tokenizer
        self.withTimestamps = withTimestamps
        self.sampleBegin = sampleBegin
    }

    /// Applies every rule to the logits of the next token after `tokens`.
    func apply(_ logits: inout [Float], tokens: [Int]) {
        for t in suppressed where t < logits.count { logits[t] = -.infinity }
        if tokens.count == sampleBegin { for t in blankSuppressed where t < logits.count { logits[t] = -.infinity } }
        if withTimestamps { applyTimestampRules(&logits, tokens: tokens) }
    }

    /// Timestamps come in pairs, never decrease, start the text, and win when their total
    /// probability beats any single text token.
    private func applyTimestampRules(_ logits: inout [Float], tokens: [Int]) {
        guard let begin = tokenizer.timestampBegin else { return }
        let eot = tokenizer.endOfText
        if let nt = tokenizer.noTimestamps, nt < logits.count { logits[nt] = -.infinity }
        let sampled = Array(tokens[sampleBegin...])
        let lastWasTimestamp = sampled.count >= 1 && sampled[sampled.count - 1] >= begin
        let penultimateWasTimestamp = sampled.count < 2 || sampled[sampled.count - 2] >= begin
        if lastWasTimestamp {
            if penultimateWasTimestamp {
                for i in begin..<logits.count { logits[i] = -.infinity }
            } else {
                for i in 0..<eot { logits[i] = -.infinity }
            }
        }
        let timestamps = sampled.filter { $0 >= begin }
        if let last = timestamps.last {
            let floor = lastWasTimestamp && !penultimateWasTimestamp ? last : last + 1
            for i in begin..<min(floor, logits.count) { logits[i] = -.infinity }
        }
        if tokens.count == sampleBegin {
            for i in 0..<begin { logits[i] = -.infinity }
            let lastAllowed = begin + maxInitialTimestampIndex
            if lastAllowed + 1 < logits.count { for i in (lastAllowed + 1)..<logits.count { logits[i] = -.infinity } }
        }
        // If the timestamps together are more likely than any text token, sample a timestamp.
        let logprobs = LogitFilters.logSoftmax(logits)
        let timestampLogprob = LogitFilters.logSumExp(logprobs[begin...])
        let maxText = logprobs[0..<begin].max() ?? -.infinity
        if timestampLogprob > maxText { for i in 0..<begin { logits[i] = -.infinity } }
    }

    static func logSoftmax(_ x: [Float]) -> [Float] {
        let lse = logSumExp(x[...])
        guard lse.isFinite else { return x }
        return x.map { $0 - lse }
    }

    /// log Σ exp(x), stable.
    static func logSumExp(_ x: ArraySlice<Float>) -> Float {
        let m = x.max() ?? -.infinity
        guard m.isFinite else { return m }
        return m + logf(x.reduce(0) { $0 + expf($1 - m) })
    }
}
