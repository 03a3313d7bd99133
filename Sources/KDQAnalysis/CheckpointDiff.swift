import Dispatch
import KDQFormats
import KDQTensor

/// One tensor compared across two checkpoints.
public struct TensorDiff: Sendable {
    public let name: String
    public let shapeA: [Int]
    public let shapeB: [Int]
    public let encodingA: Encoding
    public let encodingB: Encoding
    /// nil when the shapes differ (nothing to compare element-wise).
    public let metrics: ErrorMetrics?

    public var shapesMatch: Bool { shapeA == shapeB }
}

/// Per-layer totals of a diff.
public struct LayerDiff: Sendable {
    public let layer: String
    public let tensors: Int
    public let metrics: ErrorMetrics
    /// The largest relative error of any tensor in the layer.
    public let worstRelativeError: Double
}

/// Two checkpoints in any formats compared tensor by tensor under canonical names, after
/// decoding both to f32. `a` is the reference.
public struct CheckpointDiff: Sendable {
    public let tensors: [TensorDiff]
    public let onlyInA: [String]
    public let onlyInB: [String]
    public let layers: [LayerDiff]
    public let overall: ErrorMetrics

    /// True when every tensor is present on both sides with the same shape and equal values.
    public var isIdentical: Bool {
        onlyInA.isEmpty && onlyInB.isEmpty && tensors.allSatisfy { $0.shapesMatch && $0.metrics?.isExact == true }
    }

    /// Compares `a` with `b`, keeping the tensors whose names `include` accepts; `progress`
    /// is called with (done, total) as tensors finish.
    public init(_ a: Checkpoint, _ b: Checkpoint, include: (String) -> Bool = { _ in true },
                progress: ((Int, Int) -> Void)? = nil) throws {
        try self.init(tensors: a.tensors, b.tensors, include: include, progress: progress)
    }

    /// Compares two lists of named tensors (for example a student's, renamed after the teacher
    /// blocks they were copied from, which is no checkpoint of its own).
    public init(tensors a: [(name: String, tensor: Tensor)], _ b: [(name: String, tensor: Tensor)], include: (String) -> Bool = { _ in true },
                progress: ((Int, Int) -> Void)? = nil) throws {
        let byNameB = Dictionary(b.map { ($0.name, $0.tensor) }, uniquingKeysWith: { first, _ in first })
        let pairs = a.filter { include($0.name) && byNameB[$0.name] != nil }
        let namesA = Set(a.map(\.name))
        onlyInA = a.map(\.name).filter { include($0) && byNameB[$0] == nil }
        onlyInB = b.map(\.name).filter { include($0) && !namesA.contains($0) }

        var results = [TensorDiff?](repeating: nil, count: pairs.count)
        let failure = FirstError()
        let lock = NSLockLite()
        var done = 0
        results.withUnsafeMutableBufferPointer { out in
            let out = out
            DispatchQueue.concurrentPerform(iterations: pairs.count) { i in
                let (name, ta) = pairs[i]
                guard let tb = byNameB[name] else { return }
                do {
                    let metrics = ta.shape == tb.shape ? try ErrorMetrics.compare(ta, tb) : nil
                    out[i] = TensorDiff(name: name, shapeA: ta.shape, shapeB: tb.shape, encodingA: ta.encoding,
                                        encodingB: tb.encoding, metrics: metrics)
                } catch {
                    failure.set(error)
                }
                lock.withLock {
                    done += 1
                    progress?(done, pairs.count)
                }
            }
        }
        try failure.rethrow()
        tensors = results.compactMap { $0 }

        var order: [String] = []
        var grouped: [String: (Int, ErrorMetrics, Double)] = [:]
        var overall = ErrorMetrics()
        for t in tensors {
            guard let m = t.metrics else { continue }
            let layer = CanonicalNames.layer(of: t.name)
            if grouped[layer] == nil { order.append(layer) }
            var g = grouped[layer] ?? (0, ErrorMetrics(), 0)
            g.0 += 1
            g.1.merge(m)
            g.2 = Swift.max(g.2, m.relativeError)
            grouped[layer] = g
            overall.merge(m)
        }
        layers = order.map { LayerDiff(layer: $0, tensors: grouped[$0]!.0, metrics: grouped[$0]!.1, worstRelativeError: grouped[$0]!.2) }
        self.overall = overall
    }
}
