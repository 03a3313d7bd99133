import KDQFormats

/// Whisper's audio encoder: two GELU convolutions (the second with stride 2), sinusoidal
/// positions, pre-norm residual blocks, and a final layer norm.
public struct AudioEncoder {
    let weights: WhisperWeights
    let blocks: [BlockWeights]

    init(_ weights: WhisperWeights) throws {
        self.weights = weights
        blocks = try (0..<weights.dims.nAudioLayer).map { try weights.block("encoder.blocks.\($0)", cross: false) }
    }

    /// The encoder output (`n_audio_ctx × n_audio_state`, row-major) for a mel window of
    /// `n_mels × 2·n_audio_ctx` values; `hiddenStates`, when given, receives the residual
    /// stream after every block.
    public func encode(_ mel: [Float], hiddenStates: ((Int, [Float]) -> Void)? = nil) throws -> [Float] {
        try run(embed(mel), fromBlock: 0, hiddenStates: hiddenStates)
    }

    /// The residual stream entering the first block: both convolutions with GELU, plus the
    /// sinusoidal positions (`n_audio_ctx × n_audio_state`).
    public func embed(_ mel: [Float]) throws -> [Float] {
        let d = weights.dims
        let s = d.nAudioState, frames = 2 * d.nAudioCtx, ctx = d.nAudioCtx
        guard mel.count == d.nMels * frames else {
            throw EngineError(.model, "mel has \(mel.count) values, expected \(d.nMels) × \(frames)")
        }
        // conv1: im2col rows [t, c·3 + k] = mel[c, t + k − 1]
        var cols = [Float](repeating: 0, count: frames * d.nMels * 3)
        for t in 0..<frames {
            for c in 0..<d.nMels {
                for k in 0..<3 {
                    let src = t + k - 1
                    if src >= 0 && src < frames { cols[(t * d.nMels + c) * 3 + k] = mel[c * frames + src] }
                }
            }
        }
        var h1 = [Float](repeating: 0, count: frames * s)
        try weights.linear(cols, frames, try weights.matrix("encoder.conv1.weight"), bias: try weights.pointer("encoder.conv1.bias"), into: &h1)
        Kernels.gelu(&h1, h1.count)
        // conv2, stride 2: rows [t, c·3 + k] = h1[2t + k − 1, c]
        var cols2 = [Float](repeating: 0, count: ctx * s * 3)
        for t in 0..<ctx {
            for k in 0..<3 {
                let src = 2 * t + k - 1
                guard src >= 0 && src < frames else { continue }
                for c in 0..<s { cols2[(t * s + c) * 3 + k] = h1[src * s + c] }
            }
        }
        var x = [Float](repeating: 0, count: ctx * s)
        try weights.linear(cols2, ctx, try weights.matrix("encoder.conv2.weight"), bias: try weights.pointer("encoder.conv2.bias"), into: &x)
        Kernels.gelu(&x, x.count)
        let positions = try weights.pointer("encoder.positional_embedding")
        for i in 0..<x.count { x[i] += positions[i] }
        return x
    }

    /// Runs blocks `first…` on the residual stream `x` that enters block `first` (the output of
    /// `embed` for 0, else the hidden state after block `first − 1`) and the final layer norm.
    public func run(_ x: [Float], fromBlock first: Int, hiddenStates: ((Int, [Float]) -> Void)? = nil) throws -> [Float] {
        let d = weights.dims
        let s = d.nAudioState, ctx = d.nAudioCtx
        guard x.count == ctx * s, (0...blocks.count).contains(first) else {
            throw EngineError(.model, "encoder input of \(x.count) values at block \(first), expected \(ctx) × \(s) at 0…\(blocks.count)")
        }
        var x = x
        var scratch = BlockScratch(rows: ctx, width: s)
        for i in first..<blocks.count {
            try Residual.selfAttention(&x, ctx, s, heads: d.nAudioHead, blocks[i], weights, &scratch)
            try Residual.mlp(&x, ctx, s, blocks[i], weights, &scratch)
            hiddenStates?(i, x)
        }
        var out = [Float](repeating: 0, count: ctx * s)
        Kernels.layerNorm(x, ctx, s, try weights.pointer("encoder.ln_post.weight"), try weights.pointer("encoder.ln_post.bias"), into: &out)
        return out
    }
}

/// Work buffers for one residual block on `rows` rows.
struct BlockScratch {
    var normed, q, k, v, attended, hidden: [Float]

    init(rows: Int, width: Int) {
        normed = [Float](repeating: 0, count: rows * width)
        q = normed
        k = normed
        v = normed
        attended = normed
        hidden = [Float](repeating: 0, count: rows * width * 4)
    }
}

/// The residual sub-layers shared by encoder and decoder blocks.
enum Residual {
    /// x += y over `rows` rows of width `d`, the rows shared among the cores.
    static func add(_ y: [Float], to x: inout [Float], _ rows: Int, _ d: Int) {
        y.withUnsafeBufferPointer { yb in
            x.withUnsafeMutableBufferPointer { xb in
                let yp = yb.baseAddress!, xp = xb.baseAddress!
                Kernels.parallelRows(rows) { r in
                    for i in (r * d)..<((r + 1) * d) { xp[i] += yp[i] }
                }
            }
        }
    }

    /// x += out(attention(ln(x))) over the rows themselves (the encoder's bidirectional case).
    static func selfAttention(_ x: inout [Float], _ rows: Int, _ d: Int, heads: Int, _ b: BlockWeights, _ weights: WhisperWeights,
                              _ s: inout BlockScratch) throws {
        Kernels.layerNorm(x, rows, d, b.attentionNorm.0, b.attentionNorm.1, into: &s.normed)
        try weights.linear(s.normed, rows, b.attention.query, bias: b.attention.queryBias, into: &s.q)
        try weights.linear(s.normed, rows, b.attention.key, bias: nil, into: &s.k)
        try weights.linear(s.normed, rows, b.attention.value, bias: b.attention.valueBias, into: &s.v)
        Attention.attend(q: s.q, nq: rows, k: s.k, v: s.v, nk: rows, d: d, heads: heads, causalOffset: nil, into: &s.attended)
        try weights.linear(s.attended, rows, b.attention.out, bias: b.attention.outBias, into: &s.normed)
        add(s.normed, to: &x, rows, d)
    }

    /// x += fc2(gelu(fc1(ln(x)))).
    static func mlp(_ x: inout [Float], _ rows: Int, _ d: Int, _ b: BlockWeights, _ weights: WhisperWeights, _ s: inout BlockScratch) throws {
        Kernels.layerNorm(x, rows, d, b.mlpNorm.0, b.mlpNorm.1, into: &s.normed)
        try weights.linear(s.normed, rows, b.fc1, bias: b.fc1Bias, into: &s.hidden)
        Kernels.gelu(&s.hidden, rows * 4 * d)
        try weights.linear(s.hidden, rows, b.fc2, bias: b.fc2Bias, into: &s.normed)
        add(s.normed, to: &x, rows, d)
    }
}
