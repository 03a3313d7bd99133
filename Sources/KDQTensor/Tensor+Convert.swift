import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Re-encoding a tensor. Every conversion goes through f32, so any source encoding can
/// reach any target the encoders support.
extension Tensor {
    /// The encodings `converted(to:)` produces from any values (`sinusoids` only from the table
    /// itself, and only plans choose it).
    public static let conversionTargets: Set<Encoding> = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q6_K, .q5_K, .q4_K, .q3_K, .q2_K, .int8Rows]

    /// The same values in `target`; returns `self` when already there. Lossy targets round
    /// as the tools that define them do (f16/bf16 to nearest even; ggml blocks as ggml's
    /// reference quantizers; int8 rows as CTranslate2). With `quantizer: .search`, ggml blocks
    /// take the error-minimizing encoding of `SearchQuantizer`, its error weighted per column
    /// (innermost dimension) by `importance` when given. The k-quants (rows of whole 256-value
    /// super-blocks) always take `KQuantizers`' least-squares encoding, weighted the same way.
    public func converted(to target: Encoding, quantizer: BlockQuantizer = .nearest, importance: [Float]? = nil) throws -> Tensor {
        if target == encoding { return self }
        switch target {
        case .f32:
            return try Tensor(shape: shape, floats: decodedFloats())
        case .f16:
            return try Tensor(shape: shape, encoding: .f16, data: encodedInChunks(blockElements: 1, blockBytes: 2) { x, out, _ in
                out.storeBytes(of: HalfPrecision.floatToF16(x[0]), as: UInt16.self)
            })
        case .bf16:
            return try Tensor(shape: shape, encoding: .bf16, data: encodedInChunks(blockElements: 1, blockBytes: 2) { x, out, _ in
                out.storeBytes(of: HalfPrecision.floatToBF16(x[0]), as: UInt16.self)
            })
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0:
            guard let encode = Quantizers.blockEncoder(target) else { break }
            guard quantizer == .search else {
                return try Tensor(shape: shape, encoding: target, data: encodedInChunks(blockElements: 32, blockBytes: target.blockBytes) { x, out, _ in encode(x, out) })
            }
            guard let search = Self.blockEncoder(target, quantizer: .search) else { break }
            return try weightedBlocks(target, importance: importance, search)
        case .q6_K, .q5_K, .q4_K, .q3_K, .q2_K:
            guard let encode = Self.blockEncoder(target, quantizer: quantizer) else { break }
            return try weightedBlocks(target, importance: importance, encode)
        case .int8Rows:
            let values = try decodedFloats()
            let rows = shape.first ?? 1
            let rowLength = rows == 0 ? 0 : elementCount / rows
            var scales = [Float](repeating: 1, count: rows)
            let data = Storage(count: elementCount) { out in
                let q = out.bindMemory(to: Int8.self).baseAddress!
                values.withUnsafeBufferPointer { v in
                    for r in 0..<rows { scales[r] = Quantizers.int8Row(v.baseAddress! + r * rowLength, rowLength, q + r * rowLength) }
                }
            }
            return try Tensor(shape: shape, encoding: .int8Rows, data: data, scales: Storage(values: scales))
        case .sinusoids:
            let computed = try Tensor(shape: shape, encoding: .sinusoids, data: Storage(count: 0) { _ in })  // checks the shape
            let difference = Sinusoids.maximumDifference(try decodedFloats(), shape: shape)
            guard difference <= Sinusoids.tolerance else {
                throw TensorError(.unsupportedEncoding, "\(shape) is not Whisper's sinusoidal position table: its values differ from it by up to \(difference), over the \(Sinusoids.tolerance) a computed table may differ")
            }
            return computed
        default:
            break
        }
        throw TensorError(.unsupportedEncoding, "cannot convert \(encoding.rawValue) to \(target.rawValue)")
    }

    /// The encoder `converted(to:quantizer:importance:)` uses for one block of `target`:
    /// `(values, their weights or nil, out)`, writing `target.blockBytes` bytes. Nil for
    /// encodings that are not ggml blocks. Safe to call from several threads at once.
    public static func blockEncoder(_ target: Encoding, quantizer: BlockQuantizer) -> WeightedBlockEncoder? {
        switch target {
        case .q6_K: return KQuantizers.q6_K
        case .q5_K: return KQuantizers.q5_K
        case .q4_K: return KQuantizers.q4_K
        case .q3_K: return KQuantizers.q3_K
        case .q2_K: return KQuantizers.q2_K
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0:
            guard let encode = Quantizers.blockEncoder(target) else { return nil }
            guard quantizer == .search else { return { x, _, out in encode(x, out) } }
            let scratch = ThreadScratch()
            return { x, w, out in SearchQuantizer.encode(target, x, w, out, scratch: scratch.current) }
        default:
            return nil
        }
    }

    /// The tensor in the block encoding `target`, each block encoded by `encode(values, their
    /// columns' weights or nil, out)`, the weights taken from `importance` (one per column).
    private func weightedBlocks(_ target: Encoding, importance: [Float]?, _ encode: @escaping WeightedBlockEncoder) throws -> Tensor {
        let rowLength = self.rowLength
        guard rowLength > 0, rowLength % target.blockElements == 0 else {
            throw TensorError(.invalidShape, "\(target.rawValue) needs rows of whole \(target.blockElements)-value blocks, not \(rowLength)")
        }
        if let importance, importance.count != rowLength {
            throw TensorError(.invalidShape, "importance has \(importance.count) weights for rows of \(rowLength)")
        }
        let weights = importance ?? []
        return try Tensor(shape: shape, encoding: target, data: encodedInChunks(blockElements: target.blockElements, blockBytes: target.blockBytes) { x, out, start in
            weights.withUnsafeBufferPointer { w in encode(x, w.isEmpty ? nil : w.baseAddress! + start % rowLength, out) }
        })
    }

    /// Decodes the tensor in chunks of 64 Ki elements spread over all cores and encodes each
    /// block of `blockElements` values into `blockBytes` bytes with `encode` (which also gets
    /// the index of the block's first element).
    private func encodedInChunks(blockElements: Int, blockBytes: Int,
                                 _ encode: @escaping (UnsafePointer<Float>, UnsafeMutableRawPointer, Int) -> Void) throws -> Storage {
        let blocks = elementCount / blockElements
        let perChunk = (1 << 16) / blockElements
        let chunks = (blocks + perChunk - 1) / perChunk
        let failure = FirstError()
        let data = Storage(count: blocks * blockBytes) { out in
            guard let base = out.baseAddress else { return }
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let first = c * perChunk, n = Swift.min(perChunk, blocks - first)
                let buffer = UnsafeMutablePointer<Float>.allocate(capacity: n * blockElements)
                defer { buffer.deallocate() }
                do { try decode(start: first * blockElements, count: n * blockElements, into: buffer) } catch {
                    failure.set(error)
                    return
                }
                for b in 0..<n { encode(buffer + b * blockElements, base + (first + b) * blockBytes, (first + b) * blockElements) }
            }
        }
        try failure.rethrow()
        return data
    }
}

/// Encodes one ggml block: `(values, each value's error weight or nil, out)`.
public typealias WeightedBlockEncoder = (UnsafePointer<Float>, UnsafePointer<Float>?, UnsafeMutableRawPointer) -> Void

/// How ggml blocks are chosen: whisper.cpp's round-to-nearest, or the error-minimizing search.
public enum BlockQuantizer: String, Sendable, CaseIterable {
    case nearest, search
}

/// One `SearchQuantizer.Scratch` per thread, made on first use.
final class ThreadScratch: @unchecked Sendable {
    private let lock = NSLockLite()
    private var byThread: [UInt: SearchQuantizer.Scratch] = [:]

    var current: SearchQuantizer.Scratch {
        let id = UInt(pthread_self())
        return lock.withLock {
            if let s = byThread[id] { return s }
            let s = SearchQuantizer.Scratch()
            byThread[id] = s
            return s
        }
    }
}
