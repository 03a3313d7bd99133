import KDQFormats
import KDQTensor

/// A checkpoint's tensors for the engine: weight matrices as `LinearWeight`s in their stored
/// encoding (decoded tile by tile as they are used), everything else (biases, norms,
/// positional embeddings) decoded once to f32 at stable addresses.
public final class WhisperWeights: @unchecked Sendable {
    public let dims: ModelDims
    /// The kept tokens of a vocabulary-trimmed model (nil: every token has its embedding row).
    public let vocabulary: VocabularySubset?
    private var vectors: [String: UnsafeMutableBufferPointer<Float>] = [:]
    private var matrices: [String: LinearWeight] = [:]
    private let path: String
    /// Receives the input of every linear layer while set (see `WhisperModel.observingLinearInputs`).
    var linearInputObserver: LinearInputObserver?

    public init(_ checkpoint: Checkpoint) throws {
        dims = checkpoint.dims
        path = checkpoint.provenance.path
        do { vocabulary = try VocabularySubset(checkpoint) } catch { throw EngineError(.model, "\(error)", path: path) }
        for (name, t) in checkpoint.tensors where name != VocabularySubset.tensorName {
            if t.shape.count >= 2 && name.hasSuffix(".weight") {
                do {
                    // Convolutions stay f32: they are small, and their unfolded input is not a tile-friendly shape.
                    matrices[name] = try LinearWeight(name: name, tensor: t, keepEncoded: t.shape.count == 2)
                } catch let e as EngineError {
                    throw EngineError(e.code, e.message, path: path)
                }
                continue
            }
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, t.elementCount))
            vectors[name] = buffer
            do { if t.elementCount > 0 { try t.decode(start: 0, count: t.elementCount, into: buffer.baseAddress!) } } catch {
                throw EngineError(.model, "cannot decode tensor '\(name)': \(error)", path: path)
            }
        }
    }

    deinit { for b in vectors.values { b.deallocate() } }

    /// The f32 values of `name` (a bias, norm or positional embedding).
    func pointer(_ name: String) throws -> UnsafePointer<Float> {
        guard let b = vectors[name] else { throw EngineError(.model, "tensor '\(name)' is missing", path: path) }
        return UnsafePointer(b.baseAddress!)
    }

    /// The weight matrix `name`.
    func matrix(_ name: String) throws -> LinearWeight {
        guard let m = matrices[name] else { throw EngineError(.model, "weight matrix '\(name)' is missing", path: path) }
        return m
    }

    /// Runs `body` with tensor `name` holding `values` in place of its own (every block sees
    /// the change), then restores the original values.
    func withValues<T>(_ name: String, _ values: [Float], _ body: () throws -> T) throws -> T {
        if let m = matrices[name] { return try m.withValues(values, body) }
        guard let b = vectors[name] else { throw EngineError(.model, "tensor '\(name)' is missing", path: path) }
        guard values.count == b.count else {
            throw EngineError(.model, "replacement for '\(name)' has \(values.count) values, expected \(b.count)", path: path)
        }
        let original = Array(b)
        _ = b.update(fromContentsOf: values)
        defer { _ = b.update(fromContentsOf: original) }
        return try body()
    }

    /// Y[m, w.rows] = X[m, w.columns] · Wᵀ (+ bias), shown to the observer.
    func linear(_ x: UnsafePointer<Float>, _ m: Int, _ w: LinearWeight, bias: UnsafePointer<Float>?,
                into y: UnsafeMutablePointer<Float>) throws {
        if let observer = linearInputObserver { observer(w.name, UnsafeBufferPointer(start: x, count: m * w.columns), m) }
        try w.apply(x, m, bias: bias, into: y)
    }

    func attention(_ prefix: String) throws -> AttentionWeights {
        AttentionWeights(query: try matrix(prefix + ".query.weight"), queryBias: try pointer(prefix + ".query.bias"),
                         key: try matrix(prefix + ".key.weight"), value: try matrix(prefix + ".value.weight"),
                         valueBias: try pointer(prefix + ".value.bias"), out: try matrix(prefix + ".out.weight"),
                         outBias: try pointer(prefix + ".out.bias"))
    }

    func norm(_ prefix: String) throws -> (UnsafePointer<Float>, UnsafePointer<Float>) {
        (try pointer(prefix + ".weight"), try pointer(prefix + ".bias"))
    }

    func block(_ prefix: String, cross: Bool) throws -> BlockWeights {
        BlockWeights(attentionNorm: try norm(prefix + ".attn_ln"), attention: try attention(prefix + ".attn"),
                     crossNorm: cross ? try norm(prefix + ".cross_attn_ln") : nil,
                     cross: cross ? try attention(prefix + ".cross_attn") : nil,
                     mlpNorm: try norm(prefix + ".mlp_ln"), fc1: try matrix(prefix + ".mlp.0.weight"), fc1Bias: try pointer(prefix + ".mlp.0.bias"),
                     fc2: try matrix(prefix + ".mlp.2.weight"), fc2Bias: try pointer(prefix + ".mlp.2.bias"))
    }
}

/// Receives a linear layer's input as the model runs: the weight's name and the input rows
/// (`rows × in_features`, row-major), valid only during the call.
public typealias LinearInputObserver = (_ weight: String, _ input: UnsafeBufferPointer<Float>, _ rows: Int) -> Void

/// One attention module's weights (the key projection has no bias).
struct AttentionWeights {
    let query: LinearWeight, queryBias: UnsafePointer<Float>, key: LinearWeight, value: LinearWeight
    let valueBias: UnsafePointer<Float>, out: LinearWeight, outBias: UnsafePointer<Float>
}

/// One residual block's weights; decoder blocks add cross-attention.
struct BlockWeights {
    let attentionNorm: (UnsafePointer<Float>, UnsafePointer<Float>)
    let attention: AttentionWeights
    let crossNorm: (UnsafePointer<Float>, UnsafePointer<Float>)?
    let cross: AttentionWeights?
    let mlpNorm: (UnsafePointer<Float>, UnsafePointer<Float>)
    let fc1: LinearWeight, fc1Bias: UnsafePointer<Float>, fc2: LinearWeight, fc2Bias: UnsafePointer<Float>
}
