import KDQFormats
import KDQTensor

/// Which tensors a plan may re-encode and into what.
public enum QuantizationCandidates {
    /// The encodings a guided plan chooses among unless told otherwise (`--candidates`), widest first.
    public static let encodings: [Encoding] = [.f16, .q8_0, .q5_1, .q5_0, .q4_1, .q4_0, .q3_K, .q2_K]

    /// Every encoding a guided plan can choose among, widest first: the default set and the
    /// k-quants q6_K, q5_K and q4_K (not in the default set until measured on whole models).
    public static let available: [Encoding] = [.f16, .q8_0, .q6_K, .q5_1, .q5_K, .q5_0, .q4_1, .q4_K, .q4_0, .q3_K, .q2_K]

    /// Of `available`, those some tensor of a plan has an alternative in: a table's columns.
    public static func columns(_ alternatives: [[Encoding]]) -> [Encoding] {
        let present = Set(alternatives.joined())
        return available.filter(present.contains)
    }

    /// True when `t` may take ggml block encodings: a matrix, or a convolution, whose rows
    /// (`Tensor.rowLength`: a convolution's input channels × kernel width, as the engine
    /// multiplies its unfolded input) are whole 32-element blocks — base's second convolution
    /// (512 × 3), not its first (80 × 3). Biases and norms stay as they are.
    public static func isEligible(_ t: Tensor) -> Bool {
        t.shape.count >= 2 && t.rowLength % 32 == 0 && t.elementCount > 0
    }

    /// The encoding that computes `t` instead of storing it, when there is one: the audio
    /// encoder's positions (`encoder.positional_embedding`) as `Encoding.sinusoids` when their
    /// values are Whisper's sinusoidal table within `Sinusoids.tolerance` (a fine-tuned or
    /// altered table is stored as usual). No bytes, and closer to the table than an f16 copy.
    public static func computed(_ name: String, _ t: Tensor) -> Encoding? {
        guard name == CanonicalNames.audioPositions, t.encoding != .sinusoids, Sinusoids.isComputable(t.shape),
              let values = try? t.decodedFloats(), Sinusoids.maximumDifference(values, shape: t.shape) <= Sinusoids.tolerance
        else { return nil }
        return .sinusoids
    }

    /// The tensors whisper.cpp's quantizer converts: the linear weights and the token embedding
    /// (the rule of `kdq import --dtype` with a block type and of `kdq quantize --uniform`).
    public static func isUniformTarget(_ name: String, _ t: Tensor) -> Bool {
        CanonicalNames.isMatrixWeight(name, shape: t.shape)
    }

    /// The alternatives for one tensor: its own encoding, then each of `encodings` that is
    /// narrower than the source and whose blocks tile its rows (the k-quants need rows of whole
    /// 256-value super-blocks), widest first (f16 for an f16 source is the source itself).
    public static func alternatives(for t: Tensor, among encodings: [Encoding] = encodings) -> [Encoding] {
        let narrower = encodings.filter {
            $0 != t.encoding && $0.bitsPerElement < t.encoding.bitsPerElement && $0.tilesRows(of: t.shape)
        }
        return [t.encoding] + narrower.sorted { $0.bitsPerElement > $1.bitsPerElement }
    }

    /// Bytes `t` takes in `e` (row scales included).
    public static func bytes(of t: Tensor, in e: Encoding) -> Int {
        if e == t.encoding { return t.byteCount }
        let rowScales = e == .int8Rows ? 4 * (t.shape.first ?? 1) : 0
        return t.elementCount / e.blockElements * e.blockBytes + rowScales
    }
}
