import KDQJSON
import KDQTensor

/// A guided or uniform plan as a `.kdq` archive records it (`compression.encodings`, with
/// `compression.evaluation`): per tensor the encoding chosen and every alternative measured,
/// read back typed for reports.
public struct RecordedPlan: Sendable {
    /// One encoding a tensor could have had.
    public struct Alternative: Sendable {
        public let encoding: Encoding
        public let bytes: Int
        /// Mean next-token KL with this tensor alone in this encoding (nats).
        public let meanKL: Double
        /// Whether the model ran with it (else the KL is scaled from a measured encoding).
        public let measured: Bool
    }

    /// One tensor's decision.
    public struct TensorChoice: Sendable {
        public let name: String
        public let source: Encoding
        public let chosen: Encoding
        public let bytes: Int
        /// Kept as it is by a `--keep` rule rather than chosen.
        public let pinned: Bool
        /// Cheapest first.
        public let alternatives: [Alternative]

        /// The alternative the plan chose.
        public var chosenAlternative: Alternative? { alternatives.first { $0.encoding == chosen } }
    }

    /// The end-to-end check on the calibration audio (`compression.evaluation`).
    public struct Evaluation: Sendable {
        public let meanKL: Double
        public let sourceWER: Double?, quantizedWER: Double?
        public let utterances: Int
        public let manifest: String
    }

    public let method: String
    public let quantizer: String
    /// How each tensor's error was weighted (`activations`, `covariance` or `none`), when recorded.
    public let weighting: String?
    /// Where the decoder's GPTQ covariances came from, when not from the calibration windows.
    public let decoderCovariances: DecoderCovariances?
    /// The bytes the tensors could take, and the rule that set it (nil for uniform plans).
    public let targetBytes: Int?
    public let rule: String?
    public let tensorBytes: Int
    public let bitsPerWeight: Double?
    /// Sum of the chosen alternatives' KL.
    public let predictedKL: Double?
    public let tensors: [TensorChoice]
    public let evaluation: Evaluation?
    /// The whole-model check of the largest tensor's encoding, when one was made.
    public let refinement: PlanRefinement?

    /// Reads the plan from an archive manifest's `compression` object; nil when it records none.
    public init?(compression: JSONObject?) throws {
        guard let record = compression?["encodings"]?.objectValue else { return nil }
        guard let method = record["method"]?.stringValue else { throw QuantizeError("compression.encodings has no method") }
        self.method = method
        quantizer = record["quantizer"]?.stringValue ?? ""
        weighting = record["weighting"]?.stringValue
        decoderCovariances = try record["decoder_covariances"].map { try DecoderCovariances(json: $0) }
        let budget = record["budget"]?.objectValue
        targetBytes = budget?["target_bytes"]?.intValue
        rule = budget?["rule"]?.stringValue
        bitsPerWeight = budget?["bits_per_weight"]?.doubleValue
        predictedKL = record["predicted_kl"]?.doubleValue
        refinement = try record["refinement"].map { try PlanRefinement(json: $0) }
        var tensors: [TensorChoice] = []
        for (name, value) in record["tensors"]?.objectValue?.entries ?? [] {
            guard let source = value["source"]?.stringValue.flatMap(Encoding.init(rawValue:)),
                  let chosen = value["chosen"]?.stringValue.flatMap(Encoding.init(rawValue:)), let bytes = value["bytes"]?.intValue else {
                throw QuantizeError("compression.encodings records no source, chosen encoding or bytes", tensor: name)
            }
            let alternatives = (value["alternatives"]?.objectValue?.entries ?? []).compactMap { key, a -> Alternative? in
                guard let encoding = Encoding(rawValue: key), let bytes = a["bytes"]?.intValue, let kl = a["mean_kl"]?.doubleValue else { return nil }
                return Alternative(encoding: encoding, bytes: bytes, meanKL: kl, measured: a["kl_measured"]?.boolValue ?? false)
            }.sorted { $0.bytes < $1.bytes }
            tensors.append(TensorChoice(name: name, source: source, chosen: chosen, bytes: bytes, pinned: value["pinned"]?.boolValue ?? false,
                                        alternatives: alternatives))
        }
        self.tensors = tensors
        tensorBytes = budget?["tensor_bytes"]?.intValue ?? tensors.reduce(0) { $0 + $1.bytes }
        if let e = compression?["evaluation"]?.objectValue, let kl = e["mean_kl"]?.doubleValue {
            evaluation = Evaluation(meanKL: kl, sourceWER: e["source_wer"]?.doubleValue, quantizedWER: e["quantized_wer"]?.doubleValue,
                                    utterances: e["calibration"]?["utterances"]?.intValue ?? 0,
                                    manifest: e["calibration"]?["manifest"]?.stringValue ?? "")
        } else {
            evaluation = nil
        }
    }

    /// The best predicted KL at every size the recorded alternatives allow: starting from each
    /// planned tensor's smallest alternative, the upgrade that buys the most KL per byte, again
    /// and again (the lower convex hull of each tensor's size/KL points, merged). Tensors with
    /// one alternative count at their size. Points are (tensor bytes, summed KL), smallest first.
    public var tradeOffCurve: [(bytes: Int, kl: Double)] {
        var steps: [(bytes: Int, kl: Double)] = []
        var bytes = 0, kl = 0.0
        for t in tensors {
            let hull = Self.lowerHull(t.alternatives)
            guard let first = hull.first else { bytes += t.bytes; continue }
            bytes += first.bytes
            kl += first.meanKL
            for (a, b) in zip(hull, hull.dropFirst()) { steps.append((b.bytes - a.bytes, b.meanKL - a.meanKL)) }
        }
        // Most KL removed per byte first: along a convex hull each tensor's own steps come in order.
        steps.sort { -$0.kl / Double(max(1, $0.bytes)) > -$1.kl / Double(max(1, $1.bytes)) }
        var curve = [(bytes, kl)]
        for s in steps {
            bytes += s.bytes
            kl += s.kl
            curve.append((bytes, kl))
        }
        return curve
    }

    /// The alternatives on the lower convex hull of (bytes, KL), by bytes: each one worth its
    /// extra bytes compared with the cheaper ones.
    static func lowerHull(_ alternatives: [Alternative]) -> [Alternative] {
        var hull: [Alternative] = []
        for a in alternatives.sorted(by: { ($0.bytes, $0.meanKL) < ($1.bytes, $1.meanKL) }) {
            if let last = hull.last, a.meanKL >= last.meanKL { continue }  // more bytes, no less KL
            while hull.count >= 2 {
                let p = hull[hull.count - 2], q = hull[hull.count - 1]
                // q lies on or above the segment p–a (not below it): drop it.
                let cross = Double(q.bytes - p.bytes) * (a.meanKL - p.meanKL) - (q.meanKL - p.meanKL) * Double(a.bytes - p.bytes)
                if cross <= 0 { hull.removeLast() } else { break }
            }
            hull.append(a)
        }
        return hull
    }
}
