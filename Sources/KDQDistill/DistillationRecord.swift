import KDQFormats
import KDQJSON
import KDQTrain

/// A distillation as the student's archive records it (`compression.layer_map` of kind
/// `distillation`), read back typed for reports.
public struct DistillationRecord: Sendable {
    /// How `kdq compress` chose the student's depth (`student_depth`).
    public struct DepthChoice: Sendable {
        public let rule: String
        public let targetBytes: Int?
        public let candidates: [CompressionJob.Candidate]
        public let chosen: Int
        public let unreachable: [CompressionJob.LeftOut]
        /// Whether the trained student or its untrained start was written (nil in records
        /// written before compress compared them).
        public let outcome: TrainingOutcome?

        /// The choice back from its JSON form (`student_depth`); nil when there is none.
        public init?(json v: JSONValue?) throws {
            guard let d = v?.objectValue else { return nil }
            rule = d["rule"]?.stringValue ?? ""
            targetBytes = d["target_bytes"]?.intValue
            candidates = try (d["candidates"]?.arrayValue ?? []).map {
                try CompressionJob.Candidate(json: $0, probeSteps: d["probe_steps"]?.intValue ?? 0)
            }
            chosen = d["chosen"]?.intValue ?? 0
            unreachable = (d["unreachable"]?.arrayValue ?? []).compactMap { u in
                u["depth"]?.intValue.map { CompressionJob.LeftOut(depth: $0, reason: u["reason"]?.stringValue ?? "") }
            }
            outcome = TrainingOutcome(json: d["outcome"])
        }

        /// The choice `kdq compress` recorded in `checkpoint`, whether its student trained (a
        /// distillation record) or was written untrained (the student's selection record).
        public static func recorded(in checkpoint: Checkpoint) throws -> DepthChoice? {
            try DepthChoice(json: checkpoint.archiveManifest?["compression"]?["layer_map"]?["student_depth"])
        }
    }

    public let teacherPath: String
    public let teacherDecoderLayers: Int
    /// The teacher blocks the student was made of (nil for a pretrained student).
    public let selection: LayerSelection?
    /// Student block → teacher block of the hidden-state loss, at the end and each time it moved.
    public let hiddenLayerMap: [Int: Int]
    public let hiddenLayerMapHistory: [(step: Int, map: [Int: Int])]
    public let settings: JSONObject
    public let steps: Int
    public let seconds: Double
    public let tokensPerSecond: Double
    public let trainingClips: Int, validationClips: Int
    public let trainingCurve: [LossPoint]
    public let validationCurve: [LossPoint]
    /// Whether it trained through planned encodings (quantization-aware).
    public let quantizationAware: Bool
    public let depthChoice: DepthChoice?

    /// The record of `checkpoint`; nil when it records no distillation.
    public static func recorded(in checkpoint: Checkpoint) throws -> DistillationRecord? {
        guard let map = checkpoint.archiveManifest?["compression"]?["layer_map"], map["kind"]?.stringValue == "distillation" else { return nil }
        return try DistillationRecord(json: map)
    }

    /// The record back from its JSON form.
    public init(json v: JSONValue) throws {
        guard v["kind"]?.stringValue == "distillation", let steps = v["steps"]?.intValue else {
            throw TrainingError("not a distillation record: \(v.serialized(pretty: false).prefix(200))")
        }
        teacherPath = v["teacher"]?["path"]?.stringValue ?? ""
        teacherDecoderLayers = v["teacher"]?["decoder_layers"]?.intValue ?? 0
        if let s = v["student_selection"], s != .null, s["kind"]?.stringValue == "layer_pruning" {
            selection = try LayerSelection(json: s)
        } else {
            selection = nil
        }
        hiddenLayerMap = layerMap(json: v["hidden_layer_map"])
        hiddenLayerMapHistory = (v["hidden_layer_map_history"]?.arrayValue ?? []).compactMap { h in
            h["step"]?.intValue.map { ($0, layerMap(json: h["map"])) }
        }
        settings = v["settings"]?.objectValue ?? JSONObject()
        self.steps = steps
        seconds = v["seconds"]?.doubleValue ?? 0
        tokensPerSecond = v["tokens_per_second"]?.doubleValue ?? 0
        trainingClips = v["data"]?["training_clips"]?.intValue ?? 0
        validationClips = v["data"]?["validation_clips"]?.intValue ?? 0
        trainingCurve = try (v["training_curve"]?.arrayValue ?? []).map(LossPoint.init(json:))
        validationCurve = try (v["validation_curve"]?.arrayValue ?? []).map(LossPoint.init(json:))
        quantizationAware = (v["quantization_aware"] ?? .null) != .null
        depthChoice = try DepthChoice(json: v["student_depth"])
    }
}
