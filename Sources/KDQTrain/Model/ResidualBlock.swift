/// One pre-norm residual block of Whisper, for training: self-attention (causal in the decoder),
/// cross-attention over the encoder output (decoder only) and the MLP, each added to the
/// residual stream. Weights are read from a `ParameterStore` under openai-whisper's names
/// (`decoder.blocks.3.cross_attn.key.weight`); gradients go to the store's trainable tensors.
struct ResidualBlock {
    let prefix: String
    let width, heads: Int
    let isDecoder: Bool

    /// What the forward pass keeps for the backward, for one block over `rows` = batch · length rows.
    final class Activations {
        var attention, cross: AttentionActivations?
        var mlpInput = FloatBuffer(0), mlpNormed = FloatBuffer(0), mlpMean = FloatBuffer(0), mlpRstd = FloatBuffer(0)
        var preActivation = FloatBuffer(0), hidden = FloatBuffer(0)
    }

    /// One attention sub-layer's saved values.
    final class AttentionActivations {
        let input, normed, mean, rstd, q, k, v, probabilities, attended: FloatBuffer
        init(rows: Int, keyRows: Int, width: Int, probabilityCount: Int) {
            input = FloatBuffer(rows * width)
            normed = FloatBuffer(rows * width)
            mean = FloatBuffer(rows)
            rstd = FloatBuffer(rows)
            q = FloatBuffer(rows * width)
            k = FloatBuffer(keyRows * width)
            v = FloatBuffer(keyRows * width)
            probabilities = FloatBuffer(probabilityCount)
            attended = FloatBuffer(rows * width)
        }
    }

    /// Runs the block on `x` (batch sequences of `length` rows, updated in place); `encoder` holds
    /// batch · audioRows rows of encoder output for the decoder's cross-attention.
    func forward(_ store: ParameterStore, _ x: UnsafeMutablePointer<Float>, batch: Int, length: Int,
                 encoder: UnsafePointer<Float>?, audioRows: Int) throws -> Activations {
        let a = Activations()
        let rows = batch * length
        a.attention = try attend(store, "attn", x, batch: batch, length: length, keys: nil, keyRows: length)
        if isDecoder {
            guard let encoder else { throw TrainingError("\(prefix): a decoder block needs the encoder output") }
            a.cross = try attend(store, "cross_attn", x, batch: batch, length: length, keys: encoder, keyRows: audioRows)
        }
        // MLP
        let d = width
        a.mlpInput = FloatBuffer(copying: x, count: rows * d)
        a.mlpNormed = FloatBuffer(rows * d)
        a.mlpMean = FloatBuffer(rows)
        a.mlpRstd = FloatBuffer(rows)
        LayerNorm.forward(x, rows, d, gamma: try store.forward(prefix + ".mlp_ln.weight"), beta: try store.forward(prefix + ".mlp_ln.bias"),
                          into: a.mlpNormed.pointer, mean: a.mlpMean.pointer, rstd: a.mlpRstd.pointer)
        a.preActivation = FloatBuffer(rows * 4 * d)
        Linear.forward(a.mlpNormed.pointer, rows, d, try store.forward(prefix + ".mlp.0.weight"), 4 * d,
                       bias: try store.forward(prefix + ".mlp.0.bias"), into: a.preActivation.pointer)
        a.hidden = FloatBuffer(rows * 4 * d)
        GELU.forward(a.preActivation.pointer, into: a.hidden.pointer, rows * 4 * d)
        let out = FloatBuffer(rows * d)
        Linear.forward(a.hidden.pointer, rows, 4 * d, try store.forward(prefix + ".mlp.2.weight"), d,
                       bias: try store.forward(prefix + ".mlp.2.bias"), into: out.pointer)
        for i in 0..<(rows * d) { x[i] += out.pointer[i] }
        return a
    }

    /// x += out(attention(ln(x))), over the rows themselves or over `keys` (cross-attention).
    private func attend(_ store: ParameterStore, _ name: String, _ x: UnsafeMutablePointer<Float>, batch: Int, length: Int,
                        keys: UnsafePointer<Float>?, keyRows: Int) throws -> AttentionActivations {
        let d = width, rows = batch * length, p = prefix + "." + name
        let mha = MultiHeadAttention(batch: batch, nq: length, nk: keyRows, width: d, heads: heads, causal: isDecoder && keys == nil)
        let s = AttentionActivations(rows: rows, keyRows: batch * keyRows, width: d, probabilityCount: mha.probabilityCount)
        s.input.pointer.update(from: x, count: rows * d)
        LayerNorm.forward(x, rows, d, gamma: try store.forward(p + "_ln.weight"), beta: try store.forward(p + "_ln.bias"),
                          into: s.normed.pointer, mean: s.mean.pointer, rstd: s.rstd.pointer)
        let source = keys ?? UnsafePointer(s.normed.pointer)
        Linear.forward(s.normed.pointer, rows, d, try store.forward(p + ".query.weight"), d, bias: try store.forward(p + ".query.bias"),
                       into: s.q.pointer)
        Linear.forward(source, batch * keyRows, d, try store.forward(p + ".key.weight"), d, bias: nil, into: s.k.pointer)
        Linear.forward(source, batch * keyRows, d, try store.forward(p + ".value.weight"), d, bias: try store.forward(p + ".value.bias"),
                       into: s.v.pointer)
        mha.forward(q: s.q.pointer, k: s.k.pointer, v: s.v.pointer, probabilities: s.probabilities.pointer, into: s.attended.pointer)
        let out = FloatBuffer(rows * d)
        Linear.forward(s.attended.pointer, rows, d, try store.forward(p + ".out.weight"), d, bias: try store.forward(p + ".out.bias"),
                       into: out.pointer)
        for i in 0..<(rows * d) { x[i] += out.pointer[i] }
        return s
    }

    /// From dx (the gradient of the block's output, updated in place to that of its input):
    /// gradients of the block's trainable tensors, and of the encoder output when `dEncoder` is given.
    func backward(_ store: ParameterStore, _ a: Activations, _ dx: UnsafeMutablePointer<Float>, batch: Int, length: Int,
                  encoder: UnsafePointer<Float>?, audioRows: Int, dEncoder: UnsafeMutablePointer<Float>?) throws {
        let d = width, rows = batch * length
        // MLP: dx already holds d(out); the residual passes it through unchanged.
        let dHidden = FloatBuffer(rows * 4 * d)
        Linear.backward(dx, rows, d, x: a.hidden.pointer, 4 * d, w: try store.forward(prefix + ".mlp.2.weight"), dx: dHidden.pointer,
                        dw: try store.gradient(prefix + ".mlp.2.weight"), db: try store.gradient(prefix + ".mlp.2.bias"))
        GELU.backward(dHidden.pointer, preActivation: a.preActivation.pointer, rows * 4 * d)
        let dNormed = FloatBuffer(rows * d)
        Linear.backward(dHidden.pointer, rows, 4 * d, x: a.mlpNormed.pointer, d, w: try store.forward(prefix + ".mlp.0.weight"),
                        dx: dNormed.pointer, dw: try store.gradient(prefix + ".mlp.0.weight"), db: try store.gradient(prefix + ".mlp.0.bias"))
        LayerNorm.backward(dNormed.pointer, x: a.mlpInput.pointer, rows, d, gamma: try store.forward(prefix + ".mlp_ln.weight"),
                           mean: a.mlpMean.pointer, rstd: a.mlpRstd.pointer, dx: dx, accumulate: true,
                           dGamma: try store.gradient(prefix + ".mlp_ln.weight"), dBeta: try store.gradient(prefix + ".mlp_ln.bias"))
        if let cross = a.cross {
            try attentionBackward(store, "cross_attn", cross, dx, batch: batch, length: length, keys: encoder, keyRows: audioRows,
                                  dKeys: dEncoder)
        }
        if let attention = a.attention {
            try attentionBackward(store, "attn", attention, dx, batch: batch, length: length, keys: nil, keyRows: length, dKeys: nil)
        }
    }

    private func attentionBackward(_ store: ParameterStore, _ name: String, _ s: AttentionActivations, _ dx: UnsafeMutablePointer<Float>,
                                   batch: Int, length: Int, keys: UnsafePointer<Float>?, keyRows: Int,
                                   dKeys: UnsafeMutablePointer<Float>?) throws {
        let d = width, rows = batch * length, kRows = batch * keyRows, p = prefix + "." + name
        let mha = MultiHeadAttention(batch: batch, nq: length, nk: keyRows, width: d, heads: heads, causal: isDecoder && keys == nil)
        let dAttended = FloatBuffer(rows * d)
        Linear.backward(dx, rows, d, x: s.attended.pointer, d, w: try store.forward(p + ".out.weight"), dx: dAttended.pointer,
                        dw: try store.gradient(p + ".out.weight"), db: try store.gradient(p + ".out.bias"))
        let dq = FloatBuffer(rows * d), dk = FloatBuffer(kRows * d), dv = FloatBuffer(kRows * d)
        mha.backward(dOut: dAttended.pointer, q: s.q.pointer, k: s.k.pointer, v: s.v.pointer, probabilities: s.probabilities.pointer,
                     dq: dq.pointer, dk: dk.pointer, dv: dv.pointer)
        let dNormed = FloatBuffer(rows * d)
        Linear.backward(dq.pointer, rows, d, x: s.normed.pointer, d, w: try store.forward(p + ".query.weight"), dx: dNormed.pointer,
                        dw: try store.gradient(p + ".query.weight"), db: try store.gradient(p + ".query.bias"))
        // Keys and values come from the normed rows (self-attention) or the encoder output.
        let source = keys ?? UnsafePointer(s.normed.pointer)
        let dSource: UnsafeMutablePointer<Float>? = keys == nil ? dNormed.pointer : dKeys
        Linear.backward(dk.pointer, kRows, d, x: source, d, w: try store.forward(p + ".key.weight"), dx: dSource, accumulate: true,
                        dw: try store.gradient(p + ".key.weight"), db: nil)
        Linear.backward(dv.pointer, kRows, d, x: source, d, w: try store.forward(p + ".value.weight"), dx: dSource, accumulate: true,
                        dw: try store.gradient(p + ".value.weight"), db: try store.gradient(p + ".value.bias"))
        LayerNorm.backward(dNormed.pointer, x: s.input.pointer, rows, d, gamma: try store.forward(p + "_ln.weight"),
                           mean: s.mean.pointer, rstd: s.rstd.pointer, dx: dx, accumulate: true,
                           dGamma: try store.gradient(p + "_ln.weight"), dBeta: try store.gradient(p + "_ln.bias"))
    }
}
