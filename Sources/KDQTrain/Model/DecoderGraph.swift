import KDQFormats

/// A batch of decoder inputs: `batch` sequences of `length` tokens (right-padded), the tokens
/// each position predicts (`-1` where no loss is taken: prompt and padding), and the encoder
/// output each sequence attends to.
public struct TokenBatch: Sendable {
    public let batch, length: Int
    /// Input tokens, batch · length, row-major.
    public let tokens: [Int32]
    /// Target of each position, or -1 (masked).
    public let targets: [Int32]

    public init(batch: Int, length: Int, tokens: [Int32], targets: [Int32]) throws {
        guard batch > 0, length > 0, tokens.count == batch * length, targets.count == batch * length else {
            throw TrainingError("a batch of \(batch) × \(length) needs \(batch * length) tokens and targets, got \(tokens.count) and \(targets.count)")
        }
        self.batch = batch
        self.length = length
        self.tokens = tokens
        self.targets = targets
    }

    var rows: Int { batch * length }
}

/// Whisper's text decoder for training: token and positional embeddings, the residual blocks,
/// the final layer norm. Its output is the normed last hidden state; the logits through the tied
/// embedding are taken by `VocabularyLoss`, a chunk of rows at a time.
public struct DecoderGraph {
    public let dims: ModelDims
    let blocks: [ResidualBlock]

    public init(dims: ModelDims) {
        self.dims = dims
        blocks = (0..<dims.nTextLayer).map {
            ResidualBlock(prefix: "decoder.blocks.\($0)", width: dims.nTextState, heads: dims.nTextHead, isDecoder: true)
        }
    }

    /// What the forward pass keeps.
    public final class Activations {
        let blocks: [ResidualBlock.Activations]
        /// Residual stream after each block (rows × width).
        let hidden: [FloatBuffer]
        let finalInput, normed, mean, rstd: FloatBuffer

        init(blocks: [ResidualBlock.Activations], hidden: [FloatBuffer], finalInput: FloatBuffer, normed: FloatBuffer,
             mean: FloatBuffer, rstd: FloatBuffer) {
            self.blocks = blocks
            self.hidden = hidden
            self.finalInput = finalInput
            self.normed = normed
            self.mean = mean
            self.rstd = rstd
        }

        /// The final layer norm's output, rows × width.
        public var output: UnsafePointer<Float> { UnsafePointer(normed.pointer) }
        /// The residual stream after block `layer`.
        public func hiddenState(_ layer: Int) -> UnsafePointer<Float> { UnsafePointer(hidden[layer].pointer) }
    }

    /// Runs the decoder on `batch` over `encoder` (batch · n_audio_ctx rows of width n_text_state).
    public func forward(_ store: ParameterStore, _ batch: TokenBatch, encoder: UnsafePointer<Float>) throws -> Activations {
        let w = dims.nTextState, rows = batch.rows
        guard batch.length <= dims.nTextCtx else { throw TrainingError("\(batch.length) tokens exceed the text context of \(dims.nTextCtx)") }
        let embedding = try store.forward("decoder.token_embedding.weight"), positions = try store.forward("decoder.positional_embedding")
        let x = FloatBuffer(rows * w), vocabulary = try store.embeddingRows
        for r in 0..<rows {
            let t = Int(batch.tokens[r]), pos = r % batch.length
            guard t >= 0 && t < vocabulary else { throw TrainingError("token \(t) at row \(r) is outside the embedding's \(vocabulary) rows") }
            for j in 0..<w { x.pointer[r * w + j] = embedding[t * w + j] + positions[pos * w + j] }
        }
        var saved: [ResidualBlock.Activations] = [], hidden: [FloatBuffer] = []
        for b in blocks {
            saved.append(try b.forward(store, x.pointer, batch: batch.batch, length: batch.length, encoder: encoder, audioRows: dims.nAudioCtx))
            hidden.append(FloatBuffer(copying: x.pointer, count: rows * w))
        }
        let normed = FloatBuffer(rows * w), mean = FloatBuffer(rows), rstd = FloatBuffer(rows)
        LayerNorm.forward(x.pointer, rows, w, gamma: try store.forward("decoder.ln.weight"), beta: try store.forward("decoder.ln.bias"),
                          into: normed.pointer, mean: mean.pointer, rstd: rstd.pointer)
        return Activations(blocks: saved, hidden: hidden, finalInput: x, normed: normed, mean: mean, rstd: rstd)
    }

    /// From the gradient of the normed output (`dOutput`, rows × width) and of any block's
    /// output (`dHidden[layer]`): the gradients of every trainable decoder tensor, and of the
    /// encoder output (added into `dEncoder`) when given.
    public func backward(_ store: ParameterStore, _ a: Activations, _ batch: TokenBatch, encoder: UnsafePointer<Float>,
                         dOutput: UnsafePointer<Float>, dHidden: [Int: UnsafePointer<Float>] = [:],
                         dEncoder: UnsafeMutablePointer<Float>? = nil) throws {
        let w = dims.nTextState, rows = batch.rows
        let dx = FloatBuffer(rows * w)
        LayerNorm.backward(dOutput, x: a.finalInput.pointer, rows, w, gamma: try store.forward("decoder.ln.weight"), mean: a.mean.pointer,
                           rstd: a.rstd.pointer, dx: dx.pointer, accumulate: false,
                           dGamma: try store.gradient("decoder.ln.weight"), dBeta: try store.gradient("decoder.ln.bias"))
        for l in stride(from: blocks.count - 1, through: 0, by: -1) {
            if let extra = dHidden[l] { for i in 0..<(rows * w) { dx.pointer[i] += extra[i] } }
            try blocks[l].backward(store, a.blocks[l], dx.pointer, batch: batch.batch, length: batch.length, encoder: encoder,
                                   audioRows: dims.nAudioCtx, dEncoder: dEncoder)
        }
        if let dEmbedding = try store.gradient("decoder.token_embedding.weight") {
            for r in 0..<rows {
                let t = Int(batch.tokens[r])
                for j in 0..<w { dEmbedding[t * w + j] += dx.pointer[r * w + j] }
            }
        }
        if let dPositions = try store.gradient("decoder.positional_embedding") {
            for r in 0..<rows {
                let pos = r % batch.length
                for j in 0..<w { dPositions[pos * w + j] += dx.pointer[r * w + j] }
            }
        }
    }
}
