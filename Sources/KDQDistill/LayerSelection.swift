import KDQFormats
import KDQJSON
import KDQTensor
import KDQTrain

/// Which teacher blocks a layer-pruned student keeps, how they were chosen, and what every
/// candidate measured: the record `kdq student` writes into the archive (`compression.layer_map`).
public struct LayerSelection: Sendable, Equatable {
    /// How the blocks were chosen.
    public enum Method: String, Sendable, CaseIterable {
        /// From the measured KL of every choice (or, when there are too many, of greedy removals).
        case measured
        /// distil-whisper's choice: first, last, evenly spaced between.
        case even
        /// A list given by the user.
        case given
    }

    /// One pruned model that was scored.
    public struct Candidate: Sendable, Equatable {
        public let decoderLayers: [Int]
        /// Mean next-token KL from the teacher, nats per scored position.
        public let kl: Double
        /// Mean squared error of the last residual stream against the teacher's, over its mean square.
        public let hiddenError: Double
    }

    public let method: Method
    public let teacherDecoderLayers: Int
    public let decoderLayers: [Int]
    public let encoderLayers: [Int]?
    /// Scored candidates in the order they were measured (empty unless measured).
    public let candidates: [Candidate]
    /// Calibration positions scored per candidate.
    public let positions: Int

    /// The record's JSON form.
    public var json: JSONValue {
        .object([
            "kind": .string("layer_pruning"),
            "method": .string(method.rawValue),
            "teacher_decoder_layers": .number(teacherDecoderLayers),
            "decoder_layers": .array(decoderLayers.map { .number($0) }),
            "encoder_layers": encoderLayers.map { .array($0.map { .number($0) }) } ?? .null,
            "scored_positions": .number(positions),
            "candidates": .array(candidates.map {
                .object(["decoder_layers": .array($0.decoderLayers.map { .number($0) }), "kl": .number($0.kl),
                         "hidden_error": .number($0.hiddenError)])
            }),
        ])
    }

    /// distil-whisper's even choice of `count` of `layers` blocks: first, last, evenly spaced.
    public static func even(_ count: Int, of layers: Int) throws -> [Int] {
        guard (1...layers).contains(count) else { throw TrainingError("cannot keep \(count) of \(layers) decoder layers") }
        if count == 1 { return [layers - 1] }
        return (0..<count).map { Int(Double($0) * Double(layers - 1) / Double(count - 1)) }
    }
}

extension LayerSelection {
    /// The record back from its JSON form.
    public init(json v: JSONValue) throws {
        func numbers(_ key: String) -> [Int]? { v[key]?.arrayValue.map { $0.compactMap(\.intValue) } }
        guard v["kind"]?.stringValue == "layer_pruning", let method = v["method"]?.stringValue.flatMap(Method.init(rawValue:)),
              let teacher = v["teacher_decoder_layers"]?.intValue, let layers = numbers("decoder_layers") else {
            throw TrainingError("not a layer-pruning record: \(v.serialized(pretty: false).prefix(200))")
        }
        let candidates = try (v["candidates"]?.arrayValue ?? []).map { c -> Candidate in
            guard let layers = c["decoder_layers"]?.arrayValue?.compactMap(\.intValue), let kl = c["kl"]?.doubleValue else {
                throw TrainingError("bad layer-pruning candidate \(c.serialized(pretty: false).prefix(200))")
            }
            return Candidate(decoderLayers: layers, kl: kl, hiddenError: c["hidden_error"]?.doubleValue ?? 0)
        }
        self.init(method: method, teacherDecoderLayers: teacher, decoderLayers: layers, encoderLayers: numbers("encoder_layers"),
                  candidates: candidates, positions: v["scored_positions"]?.intValue ?? 0)
    }

    /// The selection `checkpoint` records (`compression.layer_map`: written by `kdq student`,
    /// or kept as the `student_selection` of a distillation record); nil when it records none.
    public static func recorded(in checkpoint: Checkpoint) throws -> LayerSelection? {
        guard let map = checkpoint.archiveManifest?["compression"]?["layer_map"], map != .null else { return nil }
        switch map["kind"]?.stringValue {
        case "layer_pruning": return try LayerSelection(json: map)
        case "distillation":
            guard let s = map["student_selection"], s != .null else { return nil }
            return try LayerSelection(json: s)
        default: return nil
        }
    }
}

/// Scores layer-pruned decoders against the full teacher on taught clips: the mean next-token
/// KL of each candidate and its last hidden state's error.
public final class PrunedDecoderScorer {
    let teacher: Checkpoint
    let clips: [TaughtClip]
    let batch: TokenBatch
    let encoded: [Float]
    let teacherOutput: [Float]
    let teacherLast: [Float]
    let embedding: [Float]

    /// Runs the whole teacher decoder on `clips` once.
    public init(teacher: Checkpoint, clips: [TaughtClip]) throws {
        guard !clips.isEmpty else { throw TrainingError("scoring layer choices needs at least one calibration clip") }
        self.teacher = teacher
        self.clips = clips
        let batch = try TokenBatch(clips, padding: 0), encoded = clips.flatMap(\.encoderOutput)
        self.batch = batch
        self.encoded = encoded
        let store = try Self.decoderStore(teacher.dims, teacher.tensors)
        let pass = try encoded.withUnsafeBufferPointer { try DecoderGraph(dims: teacher.dims).forward(store, batch, encoder: $0.baseAddress!) }
        let rows = batch.batch * batch.length, w = teacher.dims.nTextState
        teacherOutput = Array(UnsafeBufferPointer(start: pass.output, count: rows * w))
        teacherLast = Array(UnsafeBufferPointer(start: pass.hiddenState(teacher.dims.nTextLayer - 1), count: rows * w))
        embedding = try store.array("decoder.token_embedding.weight")
    }

    /// Positions scored.
    public var positions: Int { batch.targets.filter { $0 >= 0 }.count }

    /// A store of the decoder tensors only (what the scoring needs), frozen.
    static func decoderStore(_ dims: ModelDims, _ tensors: [(name: String, tensor: Tensor)]) throws -> ParameterStore {
        try ParameterStore(dims: dims, tensors: tensors.filter { $0.name.hasPrefix("decoder.") }) { _ in false }
    }

    /// KL and last-hidden error of the teacher keeping `layers`.
    public func score(_ layers: [Int]) throws -> LayerSelection.Candidate {
        let (dims, tensors) = try LayerPruning.prune(teacher, decoderLayers: layers)
        let store = try Self.decoderStore(dims, tensors)
        let pass = try encoded.withUnsafeBufferPointer { try DecoderGraph(dims: dims).forward(store, batch, encoder: $0.baseAddress!) }
        let w = dims.nTextState, rows = batch.batch * batch.length
        let dHidden = UnsafeMutablePointer<Float>.allocate(capacity: rows * w)
        defer { dHidden.deallocate() }
        let loss = teacherOutput.withUnsafeBufferPointer { t in
            embedding.withUnsafeBufferPointer { e in
                VocabularyLoss(objective: DistillationObjective(alpha: 1, temperature: 1))
                    .run(student: .init(hidden: pass.output, embedding: e.baseAddress!, width: w),
                         teacher: .init(hidden: t.baseAddress!, embedding: e.baseAddress!, width: w),
                         vocabulary: dims.nVocab, targets: batch.targets, dHidden: dHidden, dEmbedding: nil)
            }
        }
        let last = pass.hiddenState(dims.nTextLayer - 1)
        var squares: Double = 0, reference: Double = 0
        for r in 0..<rows where batch.targets[r] >= 0 {
            for j in 0..<w {
                let t = Double(teacherLast[r * w + j]), d = Double(last[r * w + j]) - t
                squares += d * d
                reference += t * t
            }
        }
        return LayerSelection.Candidate(decoderLayers: layers, kl: loss.kl, hiddenError: reference > 0 ? squares / reference : 0)
    }

    /// Every choice of `count` blocks scored when there are at most `exhaustiveLimit` of them
    /// (base: at most 20), else greedy removal; the lowest KL wins. Every candidate is recorded.
    /// `progress` gets candidates (or rounds) done.
    public func select(_ count: Int, exhaustiveLimit: Int = 64, progress: (Int, Int) -> Void = { _, _ in }) throws -> LayerSelection {
        let total = teacher.dims.nTextLayer
        guard (1...total).contains(count) else { throw TrainingError("cannot keep \(count) of \(total) decoder layers") }
        let subsets = Self.combinations(count, of: total, limit: exhaustiveLimit)
        guard let subsets else { return try greedy(count, progress: progress) }
        var candidates: [LayerSelection.Candidate] = []
        for (i, layers) in subsets.enumerated() {
            progress(i, subsets.count)
            candidates.append(try score(layers))
        }
        progress(subsets.count, subsets.count)
        let best = candidates.min { $0.kl < $1.kl }!
        return LayerSelection(method: .measured, teacherDecoderLayers: total, decoderLayers: best.decoderLayers, encoderLayers: nil,
                              candidates: candidates, positions: positions)
    }

    /// All increasing choices of `k` of `0..<n`, or nil when there are more than `limit`.
    static func combinations(_ k: Int, of n: Int, limit: Int) -> [[Int]]? {
        var out: [[Int]] = []
        func extend(_ prefix: [Int], _ next: Int) -> Bool {
            if prefix.count == k { out.append(prefix); return out.count <= limit }
            guard next < n else { return true }
            for i in next..<n where n - i >= k - prefix.count {
                if !extend(prefix + [i], i + 1) { return false }
            }
            return true
        }
        return extend([], 0) ? out : nil
    }

    /// Greedy removal: from all blocks, drop the one whose removal raises the KL least, until
    /// `count` remain; every candidate of every round is recorded.
    func greedy(_ count: Int, progress: (Int, Int) -> Void) throws -> LayerSelection {
        let total = teacher.dims.nTextLayer
        var kept = Array(0..<total), candidates: [LayerSelection.Candidate] = []
        let rounds = total - count
        for round in 0..<rounds {
            progress(round, rounds)
            var best: LayerSelection.Candidate?
            for drop in kept {
                let c = try score(kept.filter { $0 != drop })
                candidates.append(c)
                if best == nil || c.kl < best!.kl { best = c }
            }
            kept = best!.decoderLayers
        }
        progress(rounds, rounds)
        return LayerSelection(method: .measured, teacherDecoderLayers: total, decoderLayers: kept, encoderLayers: nil,
                              candidates: candidates, positions: positions)
    }
}
