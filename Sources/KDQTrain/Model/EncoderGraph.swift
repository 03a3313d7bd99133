import KDQFormats

/// Whisper's audio encoder for training: two GELU convolutions (the second with stride 2) as
/// unfolded rows through the linear kernel, the positional embedding, the residual blocks and
/// `ln_post`. Input: `batch` log-mel windows of n_mels × 2·n_audio_ctx values each.
public struct EncoderGraph {
    public let dims: ModelDims
    let blocks: [ResidualBlock]

    public init(dims: ModelDims) {
        self.dims = dims
        blocks = (0..<dims.nAudioLayer).map {
            ResidualBlock(prefix: "encoder.blocks.\($0)", width: dims.nAudioState, heads: dims.nAudioHead, isDecoder: false)
        }
    }

    /// What the forward pass keeps.
    public final class Activations {
        let batch: Int
        let columns1, preActivation1, hidden1, columns2, preActivation2: FloatBuffer
        var blocks: [ResidualBlock.Activations] = []
        var finalInput = FloatBuffer(0), output = FloatBuffer(0), mean = FloatBuffer(0), rstd = FloatBuffer(0)

        init(batch: Int, columns1: FloatBuffer, preActivation1: FloatBuffer, hidden1: FloatBuffer, columns2: FloatBuffer,
             preActivation2: FloatBuffer) {
            self.batch = batch
            self.columns1 = columns1
            self.preActivation1 = preActivation1
            self.hidden1 = hidden1
            self.columns2 = columns2
            self.preActivation2 = preActivation2
        }

        /// The encoder output, batch · n_audio_ctx rows of n_audio_state.
        public var result: UnsafePointer<Float> { UnsafePointer(output.pointer) }
        /// A copy of the encoder output.
        public var resultArray: [Float] { output.array }
    }

    /// Encodes `batch` mel windows.
    public func forward(_ store: ParameterStore, mel: [Float], batch: Int) throws -> Activations {
        let s = dims.nAudioState, frames = 2 * dims.nAudioCtx, ctx = dims.nAudioCtx, m = dims.nMels
        guard batch > 0, mel.count == batch * m * frames else {
            throw TrainingError("mel has \(mel.count) values, expected \(batch) × \(m) × \(frames)")
        }
        // conv1 columns [t, c·3 + k] = mel[c, t + k − 1]
        let cols1 = FloatBuffer(batch * frames * m * 3)
        for b in 0..<batch {
            let base = b * m * frames, out = cols1.pointer + b * frames * m * 3
            for t in 0..<frames {
                for c in 0..<m {
                    for k in 0..<3 {
                        let src = t + k - 1
                        if src >= 0 && src < frames { out[(t * m + c) * 3 + k] = mel[base + c * frames + src] }
                    }
                }
            }
        }
        let pre1 = FloatBuffer(batch * frames * s)
        Linear.forward(cols1.pointer, batch * frames, m * 3, try store.forward("encoder.conv1.weight"), s,
                       bias: try store.forward("encoder.conv1.bias"), into: pre1.pointer)
        let h1 = FloatBuffer(pre1.count)
        GELU.forward(pre1.pointer, into: h1.pointer, pre1.count)
        // conv2, stride 2: columns [t, c·3 + k] = h1[2t + k − 1, c]
        let cols2 = FloatBuffer(batch * ctx * s * 3)
        for b in 0..<batch {
            let hb = h1.pointer + b * frames * s, out = cols2.pointer + b * ctx * s * 3
            for t in 0..<ctx {
                for k in 0..<3 {
                    let src = 2 * t + k - 1
                    guard src >= 0 && src < frames else { continue }
                    for c in 0..<s { out[(t * s + c) * 3 + k] = hb[src * s + c] }
                }
            }
        }
        let pre2 = FloatBuffer(batch * ctx * s)
        Linear.forward(cols2.pointer, batch * ctx, s * 3, try store.forward("encoder.conv2.weight"), s,
                       bias: try store.forward("encoder.conv2.bias"), into: pre2.pointer)
        let a = Activations(batch: batch, columns1: cols1, preActivation1: pre1, hidden1: h1, columns2: cols2, preActivation2: pre2)
        let x = FloatBuffer(pre2.count)
        GELU.forward(pre2.pointer, into: x.pointer, pre2.count)
        let positions = try store.forward("encoder.positional_embedding")
        for b in 0..<batch { for i in 0..<(ctx * s) { x.pointer[b * ctx * s + i] += positions[i] } }
        for block in blocks {
            a.blocks.append(try block.forward(store, x.pointer, batch: batch, length: ctx, encoder: nil, audioRows: 0))
        }
        a.finalInput = x
        a.output = FloatBuffer(x.count)
        a.mean = FloatBuffer(batch * ctx)
        a.rstd = FloatBuffer(batch * ctx)
        LayerNorm.forward(x.pointer, batch * ctx, s, gamma: try store.forward("encoder.ln_post.weight"),
                          beta: try store.forward("encoder.ln_post.bias"), into: a.output.pointer, mean: a.mean.pointer, rstd: a.rstd.pointer)
        return a
    }

    /// From the gradient of the encoder output: the gradients of every trainable encoder tensor.
    public func backward(_ store: ParameterStore, _ a: Activations, dOutput: UnsafePointer<Float>) throws {
        let s = dims.nAudioState, frames = 2 * dims.nAudioCtx, ctx = dims.nAudioCtx, m = dims.nMels, batch = a.batch
        let rows = batch * ctx
        let dx = FloatBuffer(rows * s)
        LayerNorm.backward(dOutput, x: a.finalInput.pointer, rows, s, gamma: try store.forward("encoder.ln_post.weight"),
                           mean: a.mean.pointer, rstd: a.rstd.pointer, dx: dx.pointer, accumulate: false,
                           dGamma: try store.gradient("encoder.ln_post.weight"), dBeta: try store.gradient("encoder.ln_post.bias"))
        for l in stride(from: blocks.count - 1, through: 0, by: -1) {
            try blocks[l].backward(store, a.blocks[l], dx.pointer, batch: batch, length: ctx, encoder: nil, audioRows: 0, dEncoder: nil)
        }
        if let dPositions = try store.gradient("encoder.positional_embedding") {
            for b in 0..<batch { for i in 0..<(ctx * s) { dPositions[i] += dx.pointer[b * ctx * s + i] } }
        }
        let conv1Trains = try store.gradient("encoder.conv1.weight") != nil || store.gradient("encoder.conv1.bias") != nil
        GELU.backward(dx.pointer, preActivation: a.preActivation2.pointer, rows * s)
        let dCols2 = FloatBuffer(conv1Trains ? rows * s * 3 : 0)
        Linear.backward(dx.pointer, rows, s, x: a.columns2.pointer, s * 3, w: try store.forward("encoder.conv2.weight"),
                        dx: conv1Trains ? dCols2.pointer : nil, dw: try store.gradient("encoder.conv2.weight"),
                        db: try store.gradient("encoder.conv2.bias"))
        guard conv1Trains else { return }
        // Fold the columns back: dh1[2t + k − 1, c] += dcols2[t, c·3 + k].
        let dh1 = FloatBuffer(batch * frames * s)
        for b in 0..<batch {
            let out = dh1.pointer + b * frames * s, cols = dCols2.pointer + b * ctx * s * 3
            for t in 0..<ctx {
                for k in 0..<3 {
                    let src = 2 * t + k - 1
                    guard src >= 0 && src < frames else { continue }
                    for c in 0..<s { out[src * s + c] += cols[(t * s + c) * 3 + k] }
                }
            }
        }
        GELU.backward(dh1.pointer, preActivation: a.preActivation1.pointer, dh1.count)
        Linear.backward(dh1.pointer, batch * frames, s, x: a.columns1.pointer, m * 3, w: try store.forward("encoder.conv1.weight"),
                        dx: nil, dw: try store.gradient("encoder.conv1.weight"), db: try store.gradient("encoder.conv1.bias"))
    }
}
