import KDQCompare
import KDQDistill
import KDQFormats
import KDQQuantize
import KDQTensor

/// Everything `kdq report` shows about one archive: its sizes by encoding and by layer, the
/// quantization plan and its trade-off curve, the distillation record, and (when a teacher and
/// audio are given) the comparison with the teacher.
public struct ArchiveReport {
    /// Bytes of one layer's tensors per encoding.
    public struct LayerSize: Sendable {
        public let layer: String
        public let bytes: [Encoding: Int]
    }

    public let path: String
    public let fileBytes: Int
    public let sha256: String
    public let dims: ModelDims
    public let modelName: String?
    public let parameters: Int
    public let tensorBytes: Int
    public let byEncoding: [(encoding: Encoding, tensors: Int, bytes: Int)]
    public let byLayer: [LayerSize]
    /// The command that made the archive, as recorded.
    public let command: String?
    public let plan: RecordedPlan?
    public let distillation: DistillationRecord?
    /// How `kdq compress` chose the student (trained or not).
    public let depthChoice: DistillationRecord.DepthChoice?
    /// The teacher blocks a pruned student keeps and every choice scored (`kdq student`), when
    /// the archive records a selection but no distillation.
    public let selection: LayerSelection?
    public let comparison: ComparisonReport?
    /// Tokens a vocabulary-trimmed model keeps (nil: all of them).
    public let keptTokens: Int?

    /// Gathers the report of `checkpoint` (a `.kdq` archive, or any checkpoint: then only sizes).
    public init(checkpoint c: Checkpoint, comparison: ComparisonReport? = nil) throws {
        path = c.provenance.path
        fileBytes = c.provenance.size
        sha256 = c.provenance.sha256
        dims = c.dims
        modelName = c.dims.modelSizeName
        parameters = c.parameterCount
        tensorBytes = c.tensorBytes
        byEncoding = c.bytesByEncoding
        var layers: [String: [Encoding: Int]] = [:], order: [String] = []
        for (name, t) in c.tensors {
            let layer = Self.layer(of: name)
            if layers[layer] == nil { order.append(layer) }
            layers[layer, default: [:]][t.encoding, default: 0] += t.byteCount
        }
        byLayer = order.map { LayerSize(layer: $0, bytes: layers[$0] ?? [:]) }
        command = c.archiveManifest?["provenance"]?["command"]?.stringValue
        let compression = c.archiveManifest?["compression"]?.objectValue
        plan = try RecordedPlan(compression: compression)
        distillation = try DistillationRecord.recorded(in: c)
        depthChoice = try DistillationRecord.DepthChoice.recorded(in: c)
        selection = distillation == nil ? try LayerSelection.recorded(in: c) : nil
        self.comparison = comparison
        keptTokens = c.keptTokenCount
    }

    /// The layer a tensor belongs to, as the report groups them: the encoder's stem (convolutions,
    /// positions), each block, the token embedding, the decoder's positions, and the final norms.
    public static func layer(of name: String) -> String {
        if let block = BlockTensorName(name) { return "\(block.stack == .encoder ? "enc" : "dec") \(block.index)" }
        switch name {
        case "decoder.token_embedding.weight": return "token emb."
        case "decoder.positional_embedding": return "dec pos."
        case "encoder.ln_post.weight", "encoder.ln_post.bias", "decoder.ln.weight", "decoder.ln.bias": return "norms"
        default: return "enc stem"
        }
    }

    /// The predicted KL the plan's chosen encodings add, per layer (same grouping as `byLayer`).
    public var predictedKLByLayer: [(layer: String, kl: Double)] {
        guard let plan else { return [] }
        var sums: [String: Double] = [:]
        for t in plan.tensors { sums[Self.layer(of: t.name), default: 0] += t.chosenAlternative?.meanKL ?? 0 }
        return byLayer.map { ($0.layer, sums[$0.layer] ?? 0) }
    }
}
