import CBLAS
import CKernels
import Dispatch
import KDQTensor

/// One weight matrix W (`rows × columns`, row-major) of a linear layer y = x·Wᵀ, kept as the
/// checkpoint stores it: f32 values, or an encoded tensor (f16, bf16, ggml blocks, k-quants,
/// int8 rows) that is decoded a tile of rows at a time into a small buffer as it is used. An
/// encoded model therefore takes about its stored size in memory, not its f32 size, and every
/// tensor runs in its own encoding (a guided archive runs exactly as planned).
final class LinearWeight: @unchecked Sendable {
    let name: String
    let rows: Int, columns: Int
    /// The stored tensor, decoded tile by tile (nil when the values are held as f32).
    private let encoded: Tensor?
    /// f32 values: a dense tensor's, or a replacement set by `withValues`.
    private var values: UnsafeMutableBufferPointer<Float>?
    /// Tiles start at multiples of this many rows, so that they start on a block boundary.
    private let rowGroup: Int

    /// Elements of a decoded tile for a matrix-vector product (stays in the core's L2 cache).
    static let vectorTile = 1 << 14
    /// Elements of a decoded tile for a matrix-matrix product (wide enough for BLAS to run at speed).
    static let matrixTile = 1 << 21

    /// `tensor` as a `rows × columns` matrix (its first dimension by the product of the
    /// others); `keepEncoded` false decodes it to f32 once.
    init(name: String, tensor: Tensor, keepEncoded: Bool) throws {
        guard let first = tensor.shape.first, first > 0, tensor.elementCount % first == 0 else {
            throw EngineError(.model, "tensor '\(name)' of shape \(tensor.shape) is not a matrix")
        }
        self.name = name
        rows = first
        columns = tensor.elementCount / first
        let block = tensor.encoding.blockElements
        rowGroup = block / Self.gcd(columns, block)
        if keepEncoded && tensor.encoding != .f32 {
            encoded = tensor
        } else {
            encoded = nil
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: tensor.elementCount)
            do { try tensor.decode(start: 0, count: tensor.elementCount, into: buffer.baseAddress!) } catch {
                buffer.deallocate()
                throw EngineError(.model, "cannot decode tensor '\(name)': \(error)")
            }
            values = buffer
        }
    }

    deinit { values?.deallocate() }

    /// Bytes this weight holds in memory (its stored encoding, or f32 values).
    var residentBytes: Int { values.map { $0.count * 4 } ?? encoded?.data.count ?? 0 }

    private static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    /// Rows per tile of about `elements` values: a multiple of `rowGroup`, at least one group.
    private func tileRows(_ elements: Int) -> Int {
        max(rowGroup, (elements / max(1, columns)) / rowGroup * rowGroup)
    }

    /// Decodes rows `first ..< first + count` into `out` (`first` a multiple of `rowGroup`;
    /// `count` one too, or reaching the last row).
    private func decodeRows(_ first: Int, _ count: Int, into out: UnsafeMutablePointer<Float>) throws {
        if let values {
            out.update(from: values.baseAddress! + first * columns, count: count * columns)
        } else if let encoded {
            let start = first * columns, n = count * columns
            if let base = encoded.data.bytes.baseAddress, start + n <= encoded.elementCount {
                // f16 (F16C), q8_0 and the k-quants are decoded by `CKernels`.
                let e = encoded.encoding, block = e.blockElements
                switch e {
                case .f16:
                    return kdq_decode_f16((base + 2 * start).assumingMemoryBound(to: UInt16.self), out, n)
                case .q8_0 where start % 32 == 0 && n % 32 == 0:
                    return kdq_decode_q8_0(base + start / 32 * 34, out, n)
                default:
                    if let decode = Self.superBlockDecoder(e), start % block == 0, n % block == 0 {
                        return decode(base + start / block * e.blockBytes, out, n)
                    }
                }
            }
            do { try encoded.decode(start: start, count: n, into: out) } catch {
                throw EngineError(.model, "cannot decode rows \(first)..<\(first + count) of '\(name)': \(error)")
            }
        }
    }

    /// `CKernels`' decoder of a k-quant's super-blocks (nil for other encodings).
    static func superBlockDecoder(_ e: Encoding) -> ((UnsafeRawPointer, UnsafeMutablePointer<Float>, Int) -> Void)? {
        switch e {
        case .q2_K: return { kdq_decode_q2_K($0, $1, $2) }
        case .q3_K: return { kdq_decode_q3_K($0, $1, $2) }
        case .q4_K: return { kdq_decode_q4_K($0, $1, $2) }
        case .q5_K: return { kdq_decode_q5_K($0, $1, $2) }
        case .q6_K: return { kdq_decode_q6_K($0, $1, $2) }
        default: return nil
        }
    }

    /// Row `r` of W into `out` (`columns` values): an embedding lookup.
    func row(_ r: Int, into out: UnsafeMutablePointer<Float>) throws {
        guard (0..<rows).contains(r) else { throw EngineError(.model, "row \(r) is outside the \(rows) rows of '\(name)'") }
        if let values {
            out.update(from: values.baseAddress! + r * columns, count: columns)
            return
        }
        let first = r / rowGroup * rowGroup, count = min(rowGroup, rows - first)
        let group = UnsafeMutablePointer<Float>.allocate(capacity: count * columns)
        defer { group.deallocate() }
        try decodeRows(first, count, into: group)
        out.update(from: group + (r - first) * columns, count: columns)
    }

    /// Y[m, rows] = X[m, columns] · Wᵀ (+ bias).
    func apply(_ x: UnsafePointer<Float>, _ m: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) throws {
        if let values {
            Kernels.linear(x, m, columns, UnsafePointer(values.baseAddress!), rows, bias: bias, into: y)
            return
        }
        if m == 1 {
            try matrixVector(x, into: y)
            if let bias { Kernels.addBias(bias, to: y, 1, rows) }
        } else if let encoded, encoded.encoding == .q8_0, rowGroup == 1, m >= Self.integerProductRows, Self.hasIntegerProducts,
                  let blocks = encoded.data.bytes.baseAddress, encoded.data.count >= rows * columns / 32 * 34 {
            integerProduct(x, m, blocks: blocks, bias: bias, into: y)
        } else {
            try matrixMatrix(x, m, bias: bias, into: y)
        }
    }

    /// A product of one stored row with f32 values that decodes as it reads (`CKernels`), for
    /// the encodings that have one and rows that are whole blocks.
    typealias RowDot = (UnsafeRawPointer, UnsafePointer<Float>, Int) -> Float

    /// `table`'s row product for encoding `e` (nil: decode tiles instead).
    static func rowDot(_ e: Encoding, in table: kdq_kernel_table) -> RowDot? {
        switch e {
        case .f16: return { table.dot_f16($0.assumingMemoryBound(to: UInt16.self), $1, $2) }
        case .bf16: return { table.dot_bf16($0.assumingMemoryBound(to: UInt16.self), $1, $2) }
        case .q8_0: return { table.dot_q8_0($0, $1, $2) }
        case .q5_1: return { table.dot_q5_1($0, $1, $2) }
        case .q5_0: return { table.dot_q5_0($0, $1, $2) }
        case .q4_1: return { table.dot_q4_1($0, $1, $2) }
        case .q4_0: return { table.dot_q4_0($0, $1, $2) }
        default: return nil
        }
    }

    /// y = W·x for one input row: rows multiplied straight from their stored bytes where the
    /// encoding has a fused product, else tiles of rows decoded into a per-worker buffer and
    /// multiplied there; the rows shared among the cores.
    private func matrixVector(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) throws {
        if let encoded, rowGroup == 1, let dot = Self.rowDot(encoded.encoding, in: kdq_kernels().pointee),
           let base = encoded.data.bytes.baseAddress {
            let stride = columns / encoded.encoding.blockElements * encoded.encoding.blockBytes
            let chunk = 64, chunks = (rows + chunk - 1) / chunk
            let workers = min(chunks, rows * columns >= 1 << 16 ? Kernels.cores : 1)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var c = w
                while c < chunks {
                    for r in (c * chunk)..<min(rows, (c + 1) * chunk) { y[r] = dot(base + r * stride, x, columns) }
                    c += workers
                }
            }
            return
        }
        let tile = tileRows(Self.vectorTile)
        let tiles = (rows + tile - 1) / tile
        let workers = min(tiles, rows * columns >= 1 << 16 ? Kernels.cores : 1)
        let failure = FirstError()
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: tile * columns)
            defer { buffer.deallocate() }
            var t = w
            while t < tiles && !failure.isSet {
                let first = t * tile, count = min(tile, rows - first)
                do { try decodeRows(first, count, into: buffer) } catch { failure.set(error); return }
                // Not BLAS: OpenBLAS's own threads, started from both workers at once, contend badly.
                for r in 0..<count { y[first + r] = Kernels.dot(buffer + r * columns, x, columns) }
                t += workers
            }
        }
        try failure.rethrow()
    }

    /// Whether q8_0 weights multiply many rows in integers (AVX-512 VNNI), unless
    /// KDQ_PORTABLE_KERNELS asks for the portable kernels.
    static let hasIntegerProducts = kdq_kernels_cpu_has_avx512_vnni() != 0 && String(cString: kdq_kernels().pointee.name) != "portable"
    /// Rows of X from which quantizing X and packing W pay for themselves (the encoder's 1,500;
    /// not a decoding step's prompt).
    static let integerProductRows = 64

    /// Y = X·Wᵀ (+ bias) for a q8_0 W: X quantized to q8_0 blocks once (rows shared among the
    /// cores), then each core packs its share of W's rows for VNNI and multiplies all of X by
    /// them (`kdq_q8_0_gemm`, whisper.cpp's q8_0 × q8_0 arithmetic: about 2.6 times OpenBLAS's
    /// f32 product per core on base's shapes, docs/performance.md).
    private func integerProduct(_ x: UnsafePointer<Float>, _ m: Int, blocks: UnsafeRawPointer, bias: UnsafePointer<Float>?,
                                into y: UnsafeMutablePointer<Float>) {
        let rowBytes = kdq_q8_activation_row_bytes(Int32(columns))
        let quantized = UnsafeMutableRawPointer.allocate(byteCount: rowBytes * m, alignment: 64)
        let packed = UnsafeMutableRawPointer.allocate(byteCount: kdq_q8_0_packed_bytes(Int32(rows), Int32(columns)), alignment: 64)
        defer {
            quantized.deallocate()
            packed.deallocate()
        }
        let workers = Kernels.cores
        let rowShare = (m + workers - 1) / workers
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let first = w * rowShare, count = min(rowShare, m - first)
            guard count > 0 else { return }
            kdq_q8_quantize_rows(x + first * columns, Int32(count), Int32(columns), quantized + first * rowBytes)
        }
        // Panels of 16 rows of W, in pairs (the kernel's 32 columns of Y), shared among the cores.
        let panels = (rows + 15) / 16, pairShare = ((panels + 1) / 2 + workers - 1) / workers
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let first = min(panels, 2 * w * pairShare), end = min(panels, 2 * (w + 1) * pairShare)
            guard first < end else { return }
            kdq_q8_0_pack(blocks, Int32(rows), Int32(columns), Int32(first), Int32(end), packed)
            kdq_q8_0_gemm(quantized, Int32(m), Int32(columns), packed, Int32(rows), Int32(first), Int32(end), bias, y)
        }
    }

    /// Y = X·Wᵀ (+ bias) for many rows: W decoded a wide tile of rows at a time (in parallel),
    /// each tile's product added by BLAS to its columns of Y (which start as the bias).
    private func matrixMatrix(_ x: UnsafePointer<Float>, _ m: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) throws {
        let beta = Kernels.startWithBias(bias, in: y, m, rows)
        let tile = tileRows(Self.matrixTile)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: min(rows, tile) * columns)
        defer { buffer.deallocate() }
        var first = 0
        while first < rows {
            let count = min(tile, rows - first)
            let parts = min(Kernels.cores, (count + rowGroup - 1) / rowGroup)
            let share = ((count + parts - 1) / parts + rowGroup - 1) / rowGroup * rowGroup
            let failure = FirstError()
            DispatchQueue.concurrentPerform(iterations: parts) { p in
                let start = p * share, n = min(share, count - start)
                guard n > 0 else { return }
                do { try decodeRows(first + start, n, into: buffer + start * columns) } catch { failure.set(error) }
            }
            try failure.rethrow()
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(count), Int32(columns), 1, x, Int32(columns),
                        buffer, Int32(columns), beta, y + first, Int32(rows))
            first += count
        }
    }

    /// Runs `body` with W holding `replacement` (f32, `rows × columns` values) instead of its
    /// own, then restores it.
    func withValues<T>(_ replacement: [Float], _ body: () throws -> T) throws -> T {
        guard replacement.count == rows * columns else {
            throw EngineError(.model, "replacement for '\(name)' has \(replacement.count) values, expected \(rows * columns)")
        }
        let saved = values
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: replacement.count)
        _ = buffer.initialize(from: replacement)
        values = buffer
        defer {
            values = saved
            buffer.deallocate()
        }
        return try body()
    }
}
