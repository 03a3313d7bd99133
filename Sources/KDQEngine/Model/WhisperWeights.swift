import KDQFormats
import KDQTensor

/// A checkpoint's tensors decoded once to f32 for the engine (any encoding of the tensor
/// core: f16, ggml blocks, int8 rows…), kept at stable addresses for BLAS.
public final class WhisperWeights: @unchecked Sendable {
    public let dims: ModelDims
    private var storage: [String: UnsafeMutableBufferPointer<Float>] = [:]
    private var names: [UnsafePointer<Float>: String] = [:]
    private let path: String
    /// Receives the input of every linear layer while set (see `WhisperModel.observingLinearInputs`).
    var linearInputObserver: LinearInputObserver?

    public init(_ checkpoint: Checkpoint) throws {
        dims = checkpoint.dims
        path = checkpoint.provenance.path
        for (name, t) in checkpoint.tensors {
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, t.elementCount))
            storage[name] = buffer
            names[UnsafePointer(buffer.baseAddress!)] = name
            do { if t.elementCount > 0 { try t.decode(start: 0, count: t.elementCount, into: buffer.baseAddress!) } } catch {
                throw EngineError(.model, "cannot decode tensor '\(name)': \(error)", path: path)
            }
        }
    }

    deinit { for b in storage.values { b.deallocate() } }

    /// The values of `name`.
    func pointer(_ name: String) throws -> UnsafePointer<Float> {
        guard let b = storage[name] else { throw EngineError(.model, "tensor '\(name)' is missing", path: path) }
        return UnsafePointer(b.baseAddress!)
    }

    /// Runs `body` with tensor `name` holding `values` in place of its own (every block sees
    /// the change, as the pointers are stable), then restores the original values.
    func withValues<T>(_ name: String, _ values: [Float], _ body: () throws -> T) throws -> T {
        guard let b = storage[name] else { throw EngineError(.model, "tensor '\(name)' is missing", path: path) }
        guard values.count == b.count else {
            throw EngineError(.model, "replacement for '\(name)' has \(values.count) values, expected \(b.count)", path: path)
        }
        let original = Array(b)
        _ = b.update(fromContentsOf: values)
        defer { _ = b.update(fromContentsOf: original) }
        return try body()
    }

    /// Y[m, n] = X[m, k] · Wᵀ (+ bias) with `w` one of these tensors, shown to the observer.
    func linear(_ x: UnsafePointer<Float>, _ m: Int, _ k: Int, _ w: UnsafePointer<Float>, _ n: Int,
                bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) {
        if let observer = linearInputObserver, let name = names[w] { observer(name, UnsafeBufferPointer(start: x, count: m * k), m) }
        Kernels.linear(x, m, k, w, n, bias: bias, into: y)
    }

    func attention(_ prefix: String) throws -> AttentionWeights {
        AttentionWeights(query: try pointer(prefix + ".query.weight"), queryBias: try pointer(prefix + ".query.bias"),
                         key: try pointer(prefix + ".key.weight"), value: try pointer(prefix + ".value.weight"),
                         valueBias: try pointer(prefix + ".value.bias"), out: try pointer(prefix + ".out.weight"),
                         outBias: try pointer(prefix + ".out.bias"))
    }

    func norm(_ prefix: String) throws -> (UnsafePointer<Float>, UnsafePointer<Float>) {
        (try pointer(prefix + ".weight"), try pointer(prefix + ".bias"))
    }

    func block(_ prefix: String, cross: Bool) throws -> BlockWeights {
        BlockWeights(attentionNorm: try norm(prefix + ".attn_ln"), attention: try attention(prefix + ".attn"),
                     crossNorm: cross ? try norm(prefix + ".cross_attn_ln") : nil,
                     cross: cross ? try attention(prefix + ".cross_attn") : nil,
                     mlpNorm: try norm(prefix + ".mlp_ln"), fc1: try pointer(prefix + ".mlp.0.weight"), fc1Bias: try pointer(prefix + ".mlp.0.bias"),
                     fc2: try pointer(prefix + ".mlp.2.weight"), fc2Bias: try pointer(prefix + ".mlp.2.bias"))
    }
}

/// Receives a linear layer's input as the model runs: the weight's name and the input rows
/// (`rows × in_features`, row-major), valid only during the call.
public typealias LinearInputObserver = (_ weight: String, _ input: UnsafeBufferPointer<Float>, _ rows: Int) -> Void

/// One attention module's weights (the key projection has no bias).
struct AttentionWeights {
    let query, queryBias, key, value, valueBias, out, outBias: UnsafePointer<Float>
}

/// One residual block's weights; decoder blocks add cross-attention.
struct BlockWeights {
    let attentionNorm: (UnsafePointer<Float>, UnsafePointer<Float>)
    let attention: AttentionWeights
    let crossNorm: (UnsafePointer<Float>, UnsafePointer<Float>)?
    let cross: AttentionWeights?
    let mlpNorm: (UnsafePointer<Float>, UnsafePointer<Float>)
    let fc1, fc1Bias, fc2, fc2Bias: UnsafePointer<Float>
}
