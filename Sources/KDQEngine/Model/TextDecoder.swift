import CBLAS
import KDQFormats

/// Whisper's text decoder: token and learned positional embeddings, pre-norm blocks of
/// causal self-attention (with a key/value cache) and cross-attention over the encoder
/// output, a final layer norm, and logits through the tied token embedding.
public struct TextDecoder {
    let weights: WhisperWeights
    let blocks: [BlockWeights]

    init(_ weights: WhisperWeights) throws {
        self.weights = weights
        blocks = try (0..<weights.dims.nTextLayer).map { try weights.block("decoder.blocks.\($0)", cross: true) }
    }

    /// Per-utterance decoder state: cross-attention keys/values (computed once from the encoder
    /// output) and the self-attention cache of the tokens decoded so far.
    public final class State {
        let crossKeys: [[Float]]
        let crossValues: [[Float]]
        var selfKeys: [[Float]]
        var selfValues: [[Float]]
        /// Tokens already in the cache.
        public internal(set) var length = 0
        let capacity: Int

        init(crossKeys: [[Float]], crossValues: [[Float]], capacity: Int, width: Int) {
            self.crossKeys = crossKeys
            self.crossValues = crossValues
            self.capacity = capacity
            selfKeys = crossKeys.map { _ in [Float](repeating: 0, count: capacity * width) }
            selfValues = selfKeys
        }

        /// A copy with its own cache (for beam search).
        func copy(width: Int) -> State {
            let s = State(crossKeys: crossKeys, crossValues: crossValues, capacity: capacity, width: width)
            s.selfKeys = selfKeys
            s.selfValues = selfValues
            s.length = length
            return s
        }
    }

    /// Computes the cross-attention keys and values of every block for `encoderOutput`.
    public func makeState(encoderOutput: [Float]) throws -> State {
        let d = weights.dims
        let n = encoderOutput.count / d.nTextState
        var keys: [[Float]] = [], values: [[Float]] = []
        for b in blocks {
            var k = [Float](repeating: 0, count: n * d.nTextState), v = k
            guard let cross = b.cross else { throw EngineError(.model, "a decoder block has no cross-attention") }
            try weights.linear(encoderOutput, n, cross.key, bias: nil, into: &k)
            try weights.linear(encoderOutput, n, cross.value, bias: cross.valueBias, into: &v)
            keys.append(k)
            values.append(v)
        }
        return State(crossKeys: keys, crossValues: values, capacity: d.nTextCtx, width: d.nTextState)
    }

    /// A state with `other`'s cross-attention keys and values (not recomputed) and an empty
    /// self-attention cache: a second teacher-forced pass over the same audio.
    public func makeState(reusingCrossAttentionOf other: State) -> State {
        State(crossKeys: other.crossKeys, crossValues: other.crossValues, capacity: other.capacity, width: weights.dims.nTextState)
    }

    /// The longest start of `tokens` this decoder can take as input: all of them unless its
    /// vocabulary is trimmed and one of them is not kept. A sequence of an untrimmed model
    /// teacher-forced through a trimmed one is cut there (as training cuts its labels); the last
    /// row it keeps still predicts the token the model lacks.
    public func forciblePrefix(of tokens: [Int]) -> [Int] {
        guard let kept = weights.vocabulary, let cut = tokens.firstIndex(where: { !kept.contains($0) }) else { return tokens }
        return Array(tokens[..<cut])
    }

    /// Runs `tokens` (appended after what `state` holds) and returns their logits
    /// (`tokens.count × n_vocab`, row-major); `lastOnly` returns only the last row.
    /// `hiddenStates` receives the residual stream after every block; `crossAttention` each
    /// block's cross-attention weights averaged over its heads (`tokens × audio rows`).
    public func forward(_ tokens: [Int], state: State, lastOnly: Bool = false,
                        crossAttention: ((Int, [Float]) -> Void)? = nil,
                        hiddenStates: ((Int, [Float]) -> Void)? = nil) throws -> [Float] {
        let d = weights.dims
        let w = d.nTextState, n = tokens.count, offset = state.length
        guard n > 0, offset + n <= state.capacity else {
            throw EngineError(.decoding, "\(offset + n) tokens exceed the text context of \(state.capacity)")
        }
        let embedding = try weights.matrix("decoder.token_embedding.weight")
        let positions = try weights.pointer("decoder.positional_embedding")
        var x = [Float](repeating: 0, count: n * w)
        for (i, t) in tokens.enumerated() {
            guard t >= 0 && t < d.nVocab else { throw EngineError(.decoding, "token \(t) is outside the vocabulary of \(d.nVocab)") }
            let row = weights.vocabulary.map { $0.row(of: t) } ?? t
            guard let row else {
                throw EngineError(.decoding, "token \(t) is not among the \(weights.vocabulary?.count ?? 0) tokens this vocabulary-trimmed model keeps")
            }
            try x.withUnsafeMutableBufferPointer { try embedding.row(row, into: $0.baseAddress! + i * w) }
            for j in 0..<w { x[i * w + j] += positions[(offset + i) * w + j] }
        }
        var s = BlockScratch(rows: n, width: w)
        let audioRows = state.crossKeys.first.map { $0.count / w } ?? 0
        for (l, b) in blocks.enumerated() {
            // Causal self-attention with the cache.
            Kernels.layerNorm(x, n, w, b.attentionNorm.0, b.attentionNorm.1, into: &s.normed)
            try weights.linear(s.normed, n, b.attention.query, bias: b.attention.queryBias, into: &s.q)
            try state.selfKeys[l].withUnsafeMutableBufferPointer { keys in
                try weights.linear(s.normed, n, b.attention.key, bias: nil, into: keys.baseAddress! + offset * w)
            }
            try state.selfValues[l].withUnsafeMutableBufferPointer { values in
                try weights.linear(s.normed, n, b.attention.value, bias: b.attention.valueBias, into: values.baseAddress! + offset * w)
            }
            Attention.attend(q: s.q, nq: n, k: state.selfKeys[l], v: state.selfValues[l], nk: offset + n, d: w, heads: d.nTextHead,
                             causalOffset: offset, into: &s.attended)
            try weights.linear(s.attended, n, b.attention.out, bias: b.attention.outBias, into: &s.normed)
            for i in 0..<(n * w) { x[i] += s.normed[i] }
            // Cross-attention over the encoder output.
            guard let cross = b.cross, let crossNorm = b.crossNorm else { throw EngineError(.model, "decoder block \(l) has no cross-attention") }
            Kernels.layerNorm(x, n, w, crossNorm.0, crossNorm.1, into: &s.normed)
            try weights.linear(s.normed, n, cross.query, bias: cross.queryBias, into: &s.q)
            var meanWeights = crossAttention == nil ? [] : [Float](repeating: 0, count: n * audioRows)
            let share = 1 / Float(d.nTextHead)
            Attention.attend(q: s.q, nq: n, k: state.crossKeys[l], v: state.crossValues[l], nk: audioRows, d: w, heads: d.nTextHead,
                             causalOffset: nil, into: &s.attended, weights: crossAttention == nil ? nil : { _, p in
                                 cblas_saxpy(Int32(n * audioRows), share, p, 1, &meanWeights, 1)
                             })
            crossAttention?(l, meanWeights)
            try weights.linear(s.attended, n, cross.out, bias: cross.outBias, into: &s.normed)
            for i in 0..<(n * w) { x[i] += s.normed[i] }
            try Residual.mlp(&x, n, w, b, weights, &s)
            hiddenStates?(l, x)
        }
        state.length += n
        let rows = lastOnly ? 1 : n
        let first = n - rows
        var normed = [Float](repeating: 0, count: rows * w)
        let gamma = try weights.pointer("decoder.ln.weight"), beta = try weights.pointer("decoder.ln.bias")
        x.withUnsafeBufferPointer { xb in Kernels.layerNorm(xb.baseAddress! + first * w, rows, w, gamma, beta, into: &normed) }
        guard let kept = weights.vocabulary else {
            var logits = [Float](repeating: 0, count: rows * d.nVocab)
            try weights.linear(normed, rows, embedding, bias: nil, into: &logits)
            return logits
        }
        // A trimmed vocabulary: the kept tokens' logits, the others impossible (-inf).
        var keptLogits = [Float](repeating: 0, count: rows * kept.count)
        try weights.linear(normed, rows, embedding, bias: nil, into: &keptLogits)
        var logits = [Float](repeating: -.infinity, count: rows * d.nVocab)
        for r in 0..<rows {
            for (j, id) in kept.ids.enumerated() { logits[r * d.nVocab + id] = keptLogits[r * kept.count + j] }
        }
        return logits
    }
}
