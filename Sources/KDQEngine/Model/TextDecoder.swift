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
    public func makeState(encoderOutput: [Float]) -> State {
        let d = weights.dims
        let n = encoderOutput.count / d.nTextState
        var keys: [[Float]] = [], values: [[Float]] = []
        for b in blocks {
            var k = [Float](repeating: 0, count: n * d.nTextState), v = k
            weights.linear(encoderOutput, n, d.nTextState, b.cross!.key, d.nTextState, bias: nil, into: &k)
            weights.linear(encoderOutput, n, d.nTextState, b.cross!.value, d.nTextState, bias: b.cross!.valueBias, into: &v)
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
        let embedding = try weights.pointer("decoder.token_embedding.weight")
        let positions = try weights.pointer("decoder.positional_embedding")
        var x = [Float](repeating: 0, count: n * w)
        for (i, t) in tokens.enumerated() {
            guard t >= 0 && t < d.nVocab else { throw EngineError(.decoding, "token \(t) is outside the vocabulary of \(d.nVocab)") }
            for j in 0..<w { x[i * w + j] = embedding[t * w + j] + positions[(offset + i) * w + j] }
        }
        var s = BlockScratch(rows: n, width: w)
        let audioRows = state.crossKeys.first.map { $0.count / w } ?? 0
        for (l, b) in blocks.enumerated() {
            // Causal self-attention with the cache.
            Kernels.layerNorm(x, n, w, b.attentionNorm.0, b.attentionNorm.1, into: &s.normed)
            weights.linear(s.normed, n, w, b.attention.query, w, bias: b.attention.queryBias, into: &s.q)
            state.selfKeys[l].withUnsafeMutableBufferPointer { keys in
                weights.linear(s.normed, n, w, b.attention.key, w, bias: nil, into: keys.baseAddress! + offset * w)
            }
            state.selfValues[l].withUnsafeMutableBufferPointer { values in
                weights.linear(s.normed, n, w, b.attention.value, w, bias: b.attention.valueBias, into: values.baseAddress! + offset * w)
            }
            Attention.attend(q: s.q, nq: n, k: state.selfKeys[l], v: state.selfValues[l], nk: offset + n, d: w, heads: d.nTextHead,
                             causalOffset: offset, into: &s.attended)
            weights.linear(s.attended, n, w, b.attention.out, w, bias: b.attention.outBias, into: &s.normed)
            for i in 0..<(n * w) { x[i] += s.normed[i] }
            // Cross-attention over the encoder output.
            let cross = b.cross!, crossNorm = b.crossNorm!
            Kernels.layerNorm(x, n, w, crossNorm.0, crossNorm.1, into: &s.normed)
            weights.linear(s.normed, n, w, cross.query, w, bias: cross.queryBias, into: &s.q)
            var meanWeights = crossAttention == nil ? [] : [Float](repeating: 0, count: n * audioRows)
            let share = 1 / Float(d.nTextHead)
            Attention.attend(q: s.q, nq: n, k: state.crossKeys[l], v: state.crossValues[l], nk: audioRows, d: w, heads: d.nTextHead,
                             causalOffset: nil, into: &s.attended, weights: crossAttention == nil ? nil : { _, p in
                                 cblas_saxpy(Int32(n * audioRows), share, p, 1, &meanWeights, 1)
                             })
            crossAttention?(l, meanWeights)
            weights.linear(s.attended, n, w, cross.out, w, bias: cross.outBias, into: &s.normed)
            for i in 0..<(n * w) { x[i] += s.normed[i] }
            Residual.mlp(&x, n, w, b, weights, &s)
            hiddenStates?(l, x)
        }
        state.length += n
        let rows = lastOnly ? 1 : n
        let first = n - rows
        var normed = [Float](repeating: 0, count: rows * w)
        let gamma = try weights.pointer("decoder.ln.weight"), beta = try weights.pointer("decoder.ln.bias")
        x.withUnsafeBufferPointer { xb in Kernels.layerNorm(xb.baseAddress! + first * w, rows, w, gamma, beta, into: &normed) }
        var logits = [Float](repeating: 0, count: rows * d.nVocab)
        weights.linear(normed, rows, w, embedding, d.nVocab, bias: nil, into: &logits)
        return logits
    }
}
