#if canImport(Glibc)
import Glibc
#endif

/// Decoding options, as openai-whisper's `DecodingOptions` (temperature 0).
public struct DecodingOptions: Sendable {
    public var language: String? = nil
    public var task: WhisperTask = .transcribe
    /// 1 for greedy decoding; more for beam search with that many beams.
    public var beamSize: Int = 1
    public var timestamps: Bool = false
    /// Tokens to suppress; nil uses the model's own list (its config's suppress_tokens).
    public var suppressTokens: [Int]? = nil

    public init() {}
}

/// The tokens decoded for one 30-second window.
public struct WindowResult: Sendable {
    /// Sampled tokens (without the prompt and end of text).
    public let tokens: [Int]
    /// Sum of the sampled tokens' log probabilities.
    public let logProbability: Double
}

/// Greedy and beam-search decoding of one window, with openai-whisper's logit filters.
struct WindowDecoder {
    let model: WhisperModel
    let options: DecodingOptions

    func decode(encoderOutput: [Float]) throws -> WindowResult {
        let tk = try model.tokenizer()
        let prompt = try prompt(tk)
        let filters = LogitFilters(tokenizer: tk, suppressTokens: options.suppressTokens ?? model.generation.suppressTokens,
                                   withTimestamps: options.timestamps, sampleBegin: prompt.count)
        let maxLength = min(model.dims.nTextCtx / 2, model.dims.nTextCtx - prompt.count)
        let state = try model.decoder.makeState(encoderOutput: encoderOutput)
        return options.beamSize <= 1
            ? try greedy(prompt, state, filters, maxLength, endOfText: tk.endOfText)
            : try beam(prompt, state, filters, maxLength, endOfText: tk.endOfText)
    }

    /// The start of transcript, language and task tokens, and no-timestamps unless asked.
    func prompt(_ tk: WhisperTokenizer) throws -> [Int] {
        var prompt = try tk.startSequence(language: options.language, task: options.task)
        if !options.timestamps, let nt = tk.noTimestamps { prompt.append(nt) }
        return prompt
    }

    private func greedy(_ prompt: [Int], _ state: TextDecoder.State, _ filters: LogitFilters, _ maxLength: Int,
                        endOfText: Int) throws -> WindowResult {
        var tokens = prompt
        var logits = try model.decoder.forward(prompt, state: state, lastOnly: true)
        var total = 0.0
        for _ in 0..<maxLength {
            filters.apply(&logits, tokens: tokens)
            let next = argmax(logits)
            total += Double(logits[next] - LogitFilters.logSumExp(logits[...]))
            if next == endOfText { break }
            tokens.append(next)
            guard tokens.count < state.capacity else { break }
            logits = try model.decoder.forward([next], state: state, lastOnly: true)
        }
        return WindowResult(tokens: Array(tokens[prompt.count...]), logProbability: total)
    }

    /// Beam search as openai-whisper's BeamSearchDecoder with patience 1: keep `beamSize`
    /// live sequences, collect finished ones until there are `beamSize`, rank by mean log
    /// probability (no length penalty).
    private func beam(_ prompt: [Int], _ state: TextDecoder.State, _ filters: LogitFilters, _ maxLength: Int,
                      endOfText: Int) throws -> WindowResult {
        let width = model.dims.nTextState
        let first = try model.decoder.forward(prompt, state: state, lastOnly: true)
        var live: [(tokens: [Int], score: Double, state: TextDecoder.State, logits: [Float])] = [(prompt, 0, state, first)]
        var finished: [(tokens: [Int], score: Double)] = []
        for _ in 0..<maxLength {
            var candidates: [(tokens: [Int], score: Double, parent: Int)] = []
            for (i, b) in live.enumerated() {
                var logits = b.logits
                filters.apply(&logits, tokens: b.tokens)
                let logprobs = LogitFilters.logSoftmax(logits)
                for t in topK(logprobs, options.beamSize + 1) {
                    candidates.append((b.tokens + [t], b.score + Double(logprobs[t]), i))
                }
            }
            candidates.sort { $0.score > $1.score }
            var next: [(tokens: [Int], score: Double, state: TextDecoder.State, logits: [Float])] = []
            // Best first: finished sequences are collected until the live beams are full.
            for c in candidates {
                if c.tokens.last == endOfText {
                    if finished.count < options.beamSize { finished.append((Array(c.tokens.dropLast()), c.score)) }
                    continue
                }
                let s = live[c.parent].state.copy(width: width)
                let logits = try model.decoder.forward([c.tokens.last!], state: s, lastOnly: true)
                next.append((c.tokens, c.score, s, logits))
                if next.count == options.beamSize { break }
            }
            live = next
            if finished.count >= options.beamSize || live.isEmpty || (live.first?.tokens.count ?? 0) >= state.capacity { break }
        }
        if finished.isEmpty { finished = live.map { ($0.tokens, $0.score) } }
        let best = finished.max { a, b in
            a.score / Double(max(1, a.tokens.count - prompt.count)) < b.score / Double(max(1, b.tokens.count - prompt.count))
        }!
        return WindowResult(tokens: Array(best.tokens[prompt.count...]), logProbability: best.score)
    }

    private func argmax(_ x: [Float]) -> Int {
        var best = 0
        for i in 1..<x.count where x[i] > x[best] { best = i }
        return best
    }

    private func topK(_ x: [Float], _ k: Int) -> [Int] {
        var top: [Int] = []
        for i in x.indices where x[i] > -.infinity {
            if top.count < k { top.append(i); top.sort { x[$0] > x[$1] } } else if x[i] > x[top[k - 1]] {
                top[k - 1] = i
                top.sort { x[$0] > x[$1] }
            }
        }
        return top
    }
}
