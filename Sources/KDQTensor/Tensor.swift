/// One tensor: a shape, an encoding, and the encoded bytes (owned or memory-mapped).
/// Construction checks that the byte size matches the shape and encoding.
public struct Tensor: Sendable {
    /// Dimensions, outermost first (PyTorch order).
    public let shape: [Int]
    /// How the elements are stored.
    public let encoding: Encoding
    /// The encoded bytes.
    public let data: Storage
    /// One f32 per row for `int8Rows` (CTranslate2's `weight_scale`); nil otherwise.
    public let scales: Storage?
    /// The product of `shape`.
    public let elementCount: Int

    /// Validates and wraps encoded bytes. Block encodings need rows (`rowLength`: a matrix's
    /// innermost dimension, as ggml lays blocks out; a convolution's unfolded kernels) of whole
    /// blocks. `int8Rows` requires `scales` with one f32 per row (rows = the first dimension);
    /// other encodings must not have scales. `sinusoids` (no bytes) needs a shape `Sinusoids`
    /// computes.
    public init(shape: [Int], encoding: Encoding, data: Storage, scales: Storage? = nil) throws {
        let n = try Checked.elementCount(shape)
        let expected = try encoding.byteCount(elements: n)
        guard data.count == expected else {
            throw TensorError(.sizeMismatch, "\(encoding.rawValue) \(shape) needs \(expected) bytes, found \(data.count)")
        }
        guard encoding.tilesRows(of: shape) else {
            throw TensorError(.invalidShape, "\(encoding.rawValue) \(shape): rows of \(Encoding.rowLength(of: shape)) are not whole \(encoding.blockElements)-value blocks")
        }
        if encoding == .sinusoids, !Sinusoids.isComputable(shape) {
            throw TensorError(.invalidShape, "sinusoids \(shape): a computed position table is [length, channels] with an even number of channels (at least 4) and at most \(Sinusoids.maximumElements) values")
        }
        if encoding == .int8Rows {
            let rows = shape.first ?? 1
            guard let scales, scales.count == rows * 4 else {
                throw TensorError(.sizeMismatch, "int8_rows \(shape) needs \(rows) f32 row scales, found \((scales?.count ?? 0) / 4)")
            }
        } else if scales != nil {
            throw TensorError(.unsupportedEncoding, "\(encoding.rawValue) tensors carry no row scales")
        }
        self.shape = shape
        self.encoding = encoding
        self.data = data
        self.scales = scales
        self.elementCount = n
    }

    /// An owned f32 tensor holding `values`.
    public init(shape: [Int], floats values: [Float]) throws {
        try self.init(shape: shape, encoding: .f32, data: Storage(values: values))
    }

    /// Bytes of data plus row scales.
    public var byteCount: Int { data.count + (scales?.count ?? 0) }

    /// The same bytes under another shape with the same element count (e.g. `[S, 1]` → `[S]`).
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard try Checked.elementCount(newShape) == elementCount else {
            throw TensorError(.invalidShape, "cannot reshape \(shape) to \(newShape)")
        }
        return try Tensor(shape: newShape, encoding: encoding, data: data, scales: scales)
    }

    /// The values one row holds (`Encoding.rowLength(of:)`): what block encodings tile.
    public var rowLength: Int { Encoding.rowLength(of: shape) }

    /// Rows `range` of the first dimension, sharing storage (used to split fused projections).
    public func rows(_ range: Range<Int>) throws -> Tensor {
        guard let first = shape.first, range.lowerBound >= 0, range.upperBound <= first else {
            throw TensorError(.invalidShape, "rows \(range) outside shape \(shape)")
        }
        let rowElements = first == 0 ? 0 : elementCount / first
        let rowBytes = try encoding.byteCount(elements: rowElements)
        let data = try self.data.slice((range.lowerBound * rowBytes)..<(range.upperBound * rowBytes))
        let scales = try self.scales.map { try $0.slice((range.lowerBound * 4)..<(range.upperBound * 4)) }
        return try Tensor(shape: [range.count] + shape.dropFirst(), encoding: encoding, data: data, scales: scales)
    }
}
