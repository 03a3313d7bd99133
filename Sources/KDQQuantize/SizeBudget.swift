import KDQTensor

/// How large the quantized tensors may be, in total (every tensor, quantized or not).
public enum SizeBudget: Sendable, Equatable {
    /// Megabytes (10⁶ bytes) of tensor data.
    case megabytes(Double)
    /// Bits per weight over every element of every tensor.
    case bitsPerWeight(Double)
    /// The size whisper.cpp's uniform quantization to this type gives the same model.
    case sameAsUniform(Encoding)

    /// A short description for reports and the manifest.
    public var description: String {
        switch self {
        case .megabytes(let mb): return "\(mb) MB"
        case .bitsPerWeight(let b): return "\(b) bits per weight"
        case .sameAsUniform(let e): return "the size of uniform \(e.rawValue)"
        }
    }
}
