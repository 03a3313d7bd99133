import KDQFormats
import KDQTensor
#if canImport(Glibc)
/// glibc's `mallopt` (malloc.h is not in the Glibc module).
@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// One student learning from one teacher (or from the targets alone): the forward passes of
/// both, the objective, the backward pass, gradient clipping and the AdamW update, with fake
/// quantization re-applied after each update when the student trains through its encodings.
public final class DistillationTrainer {
    /// What the decoders attend to.
    public enum Audio {
        /// The output of a frozen encoder the student shares with the teacher, batch · n_audio_ctx rows.
        case encoded([Float])
        /// Frozen encoders' outputs, one for each model (the student's quantized encoder and
        /// the teacher's), batch · n_audio_ctx rows each.
        case encodedEach(student: [Float], teacher: [Float])
        /// Log-mel windows (batch · n_mels · 2·n_audio_ctx): each model runs its own encoder, and the
        /// student's trains where it has trainable tensors.
        case mel([Float])
        /// Log-mel windows the student's encoder runs (and trains on, through its encodings
        /// under QAT), and the teacher's encoder output for the same windows (cached: the
        /// teacher's encoder is frozen).
        case melWithTeacherOutput(mel: [Float], teacher: [Float])
    }

    /// The result of one step.
    public struct StepReport: Sendable {
        public let loss: LossComponents
        /// Global gradient norm before clipping.
        public let gradientNorm: Double
        public let learningRate: Double
    }

    public let student: ParameterStore
    public let teacher: ParameterStore?
    public var objective: DistillationObjective
    /// Student decoder layer → teacher decoder layer whose residual stream it is matched to
    /// (the hidden-state term; empty for none).
    public var layerMap: [Int: Int]
    /// Re-choose `layerMap` at every training step (the paper's guided matching): each student
    /// layer is matched to the teacher layer whose residual stream it is closest to (MSE through
    /// its adapter), the map kept increasing.
    public var dynamicMatching = false
    /// The maps `layerMap` has had, with the optimizer step each was chosen at (restored with a checkpoint).
    public var layerMapHistory: [(step: Int, map: [Int: Int])] = []
    public var optimizer: AdamW
    /// Clip the global gradient norm to this (0: no clipping).
    public var maxGradientNorm: Double
    /// Tensors that take weight decay (by default: weight matrices and embeddings, not biases and norms).
    public var decays: (String) -> Bool = { name in
        !(name.hasSuffix(".bias") || name.contains("_ln.") || name.contains(".ln.") || name.contains("ln_post"))
    }
    public private(set) var fakeQuantization: FakeQuantization?
    let studentDecoder: DecoderGraph, studentEncoder: EncoderGraph
    let teacherDecoder: DecoderGraph?, teacherEncoder: EncoderGraph?
    /// A vocabulary-trimmed student's kept tokens (nil: the whole vocabulary).
    let studentVocabulary: VocabularySubset?
    /// The teacher's embedding rows of those tokens, so both models' logits cover the same tokens.
    let teacherKeptEmbedding: FloatBuffer?

    public init(student: ParameterStore, teacher: ParameterStore?, objective: DistillationObjective = DistillationObjective(),
                layerMap: [Int: Int] = [:], optimizer: AdamW = AdamW(), maxGradientNorm: Double = 1) throws {
        if let teacher {
            guard teacher.dims.nVocab == student.dims.nVocab else {
                throw TrainingError("teacher vocabulary \(teacher.dims.nVocab) differs from the student's \(student.dims.nVocab)")
            }
        }
        for (s, t) in layerMap {
            guard (0..<student.dims.nTextLayer).contains(s), let teacher, (0..<teacher.dims.nTextLayer).contains(t) else {
                throw TrainingError("layer map \(s) → \(t) is outside the student's \(student.dims.nTextLayer) or the teacher's decoder layers")
            }
            if student.dims.nTextState != teacher.dims.nTextState, !student.contains("adapter.\(s).weight") {
                throw TrainingError("student layer \(s) has width \(student.dims.nTextState), teacher \(teacher.dims.nTextState): it needs adapter.\(s)")
            }
        }
        self.student = student
        self.teacher = teacher
        self.objective = objective
        self.layerMap = layerMap
        self.optimizer = optimizer
        self.maxGradientNorm = maxGradientNorm
        Self.keepFreedMemoryInTheHeap
        studentDecoder = DecoderGraph(dims: student.dims)
        studentEncoder = EncoderGraph(dims: student.dims)
        teacherDecoder = teacher.map { DecoderGraph(dims: $0.dims) }
        teacherEncoder = teacher.map { EncoderGraph(dims: $0.dims) }
        studentVocabulary = try student.vocabularySubset()
        if let kept = studentVocabulary, let teacher {
            guard try teacher.vocabularySubset() == nil else { throw TrainingError("the teacher's vocabulary is trimmed; distil from the whole model") }
            let embedding = try teacher.forward("decoder.token_embedding.weight"), tw = teacher.dims.nTextState
            let rows = FloatBuffer(kept.count * tw)
            for (r, id) in kept.ids.enumerated() { (rows.pointer + r * tw).update(from: embedding + id * tw, count: tw) }
            teacherKeptEmbedding = rows
        } else {
            teacherKeptEmbedding = nil
        }
    }

    /// A step allocates and frees the same large activation buffers every time; glibc would map
    /// and unmap each one (page faults on every step), so large blocks stay in the heap for reuse.
    private static let keepFreedMemoryInTheHeap: Void = {
        #if canImport(Glibc)
        _ = glibcMallopt(-3, 1 << 30)  // M_MMAP_THRESHOLD
        _ = glibcMallopt(-1, 1 << 30)  // M_TRIM_THRESHOLD
        #endif
    }()

    /// Trains through `plan`'s encodings, each tensor encoded by `encode`, from now on (nil:
    /// full precision).
    public func quantizationAware(_ plan: [String: Encoding]?, encode: @escaping FakeQuantization.Encode = FakeQuantization.nearest) throws {
        fakeQuantization = nil
        if let plan { fakeQuantization = try FakeQuantization(student, plan: plan, encode: encode) }
    }

    /// Re-encodes the fake-quantized tensors from the masters (after they were restored).
    public func refreshQuantization() throws { try fakeQuantization?.refresh() }

    /// Zeroes the gradients and fills them with those of `batch`'s loss; returns its components.
    public func computeGradients(_ batch: TokenBatch, audio: Audio) throws -> LossComponents {
        try run(batch, audio: audio, backward: true)
    }

    /// The loss components of `batch` without gradients (validation).
    public func evaluate(_ batch: TokenBatch, audio: Audio) throws -> LossComponents {
        try run(batch, audio: audio, backward: false)
    }

    private func run(_ batch: TokenBatch, audio: Audio, backward: Bool) throws -> LossComponents {
        student.zeroGradients()
        for t in batch.targets where t >= student.dims.nVocab {
            throw TrainingError("target token \(t) is outside the vocabulary of \(student.dims.nVocab)")
        }
        // What the student reads: embedding rows of its kept tokens when its vocabulary is trimmed.
        let own = try studentVocabulary.map { try batch.restricted(to: $0) } ?? batch
        let v = try student.embeddingRows
        // Encoders.
        var studentAudio: EncoderGraph.Activations?
        let studentEncoded: [Float], teacherEncoded: [Float]
        switch audio {
        case .encoded(let output):
            let expected = batch.batch * student.dims.nAudioCtx * student.dims.nAudioState
            guard output.count == expected else {
                throw TrainingError("encoder output has \(output.count) values, expected \(batch.batch) × \(student.dims.nAudioCtx) × \(student.dims.nAudioState)")
            }
            studentEncoded = output
            teacherEncoded = output
        case .encodedEach(let s, let t):
            let own = batch.batch * student.dims.nAudioCtx * student.dims.nAudioState
            let other = teacher.map { batch.batch * $0.dims.nAudioCtx * $0.dims.nAudioState } ?? t.count
            guard s.count == own, t.count == other else {
                throw TrainingError("encoder outputs of \(s.count) (student) and \(t.count) (teacher) values, expected \(own) and \(other) for a batch of \(batch.batch)")
            }
            studentEncoded = s
            teacherEncoded = t
        case .mel(let mel):
            let a = try studentEncoder.forward(student, mel: mel, batch: batch.batch)
            studentEncoded = a.resultArray
            studentAudio = a
            if let teacher, let teacherEncoder {
                let t = try teacherEncoder.forward(teacher, mel: mel, batch: batch.batch)
                teacherEncoded = t.resultArray
            } else {
                teacherEncoded = []
            }
        case .melWithTeacherOutput(let mel, let t):
            let expected = teacher.map { batch.batch * $0.dims.nAudioCtx * $0.dims.nAudioState } ?? t.count
            guard t.count == expected else {
                throw TrainingError("the teacher's encoder output has \(t.count) values, expected \(expected) for a batch of \(batch.batch)")
            }
            let a = try studentEncoder.forward(student, mel: mel, batch: batch.batch)
            studentEncoded = a.resultArray
            studentAudio = a
            teacherEncoded = t
        }
        // Teacher (no gradients) and student forward passes.
        let teacherPass = try teacher.map { t in
            try teacherEncoded.withUnsafeBufferPointer { try teacherDecoder!.forward(t, batch, encoder: $0.baseAddress!) }
        }
        let studentPass = try studentEncoded.withUnsafeBufferPointer { try studentDecoder.forward(student, own, encoder: $0.baseAddress!) }
        // Losses and the gradient of the output.
        let w = student.dims.nTextState, rows = batch.rows
        let dOutput = FloatBuffer(rows * w)
        let vocabulary = VocabularyLoss(objective: objective)
        let teacherSide = try teacher.map { t in
            VocabularyLoss.Side(hidden: teacherPass!.output, embedding: try teacherKeptEmbedding.map { UnsafePointer($0.pointer) }
                                    ?? t.forward("decoder.token_embedding.weight"), width: t.dims.nTextState)
        }
        var loss = vocabulary.run(student: .init(hidden: studentPass.output, embedding: try student.forward("decoder.token_embedding.weight"), width: w),
                                  teacher: teacherSide, vocabulary: v, targets: own.targets, dHidden: dOutput.pointer,
                                  dEmbedding: backward ? try student.gradient("decoder.token_embedding.weight") : nil)
        var dHidden: [Int: FloatBuffer] = [:]
        if let teacher, let teacherPass, objective.beta != 0, !layerMap.isEmpty {
            let positions = own.targets.indices.filter { own.targets[$0] >= 0 }
            if dynamicMatching && backward {
                try rematch(studentPass, teacherPass, positions: positions, teacherLayers: teacher.dims.nTextLayer)
            }
            let hiddenLoss = HiddenStateLoss(normalize: objective.normalizeHidden)
            let weight = objective.alpha * objective.beta / Double(layerMap.count)
            var sum: Double = 0
            for (s, t) in layerMap.sorted(by: { $0.key < $1.key }) {
                let d = FloatBuffer(rows * w)
                let adapterName = "adapter.\(s)"
                let adapter = try self.adapter(s)
                sum += hiddenLoss.run(student: studentPass.hiddenState(s), studentWidth: w, teacher: teacherPass.hiddenState(t),
                                      teacherWidth: teacher.dims.nTextState, positions: positions, adapter: adapter, weight: weight,
                                      dStudent: d.pointer,
                                      dAdapter: adapter == nil ? (nil, nil)
                                          : (try student.gradient(adapterName + ".weight"), try student.gradient(adapterName + ".bias")))
                dHidden[s] = d
            }
            loss.hidden = sum / Double(layerMap.count)
            loss.total += objective.alpha * objective.beta * loss.hidden
        }
        guard backward else { return loss }
        // Backward.
        let encoderTrains = studentAudio != nil && student.entries.contains { $0.isTrainable && $0.name.hasPrefix("encoder.") }
        let dEncoder = FloatBuffer(encoderTrains ? studentEncoded.count : 0)
        // The buffers stay alive until the backward passes that read their pointers are done.
        try withExtendedLifetime((dOutput, dHidden, dEncoder)) {
            try studentEncoded.withUnsafeBufferPointer { e in
                try studentDecoder.backward(student, studentPass, own, encoder: e.baseAddress!, dOutput: dOutput.pointer,
                                            dHidden: dHidden.mapValues { UnsafePointer($0.pointer) },
                                            dEncoder: encoderTrains ? dEncoder.pointer : nil)
            }
            if encoderTrains, let studentAudio {
                try studentEncoder.backward(student, studentAudio, dOutput: dEncoder.pointer)
            }
        }
        return loss
    }

    /// The learned adapter of student layer `layer` (weight, bias), if the student has one.
    func adapter(_ layer: Int) throws -> (UnsafePointer<Float>, UnsafePointer<Float>)? {
        let name = "adapter.\(layer)"
        guard student.contains(name + ".weight") else { return nil }
        return (try student.forward(name + ".weight"), try student.forward(name + ".bias"))
    }

    /// Chooses the increasing map of student layers (those in `layerMap`) to teacher layers with
    /// the least summed hidden-state MSE on this batch, and records it when it changes.
    func rematch(_ s: DecoderGraph.Activations, _ t: DecoderGraph.Activations, positions: [Int], teacherLayers: Int) throws {
        let studentLayers = layerMap.keys.sorted()
        let ws = student.dims.nTextState, wt = teacher!.dims.nTextState
        var cost = [[Double]](repeating: [Double](repeating: 0, count: teacherLayers), count: studentLayers.count)
        for (a, i) in studentLayers.enumerated() {
            // The buffer itself is kept (not only its pointer): it frees its memory when released.
            let buffer = HiddenStateLoss.mapped(s.hiddenState(i), width: ws, positions: positions, adapter: try adapter(i),
                                                teacherWidth: wt).mapped
            withExtendedLifetime(buffer) {
                let mapped = buffer.pointer
                for j in 0..<teacherLayers {
                    var sum: Double = 0
                    for (k, r) in positions.enumerated() {
                        for c in 0..<wt { let d = Double(mapped[k * wt + c] - t.hiddenState(j)[r * wt + c]); sum += d * d }
                    }
                    cost[a][j] = sum
                }
            }
        }
        let chosen = Self.increasingAssignment(cost)
        let map = Dictionary(uniqueKeysWithValues: zip(studentLayers, chosen))
        if map != layerMap || layerMapHistory.isEmpty {
            layerMap = map
            layerMapHistory.append((optimizer.step, map))
        }
    }

    /// For rows i (in order), strictly increasing columns m(i) minimizing Σ cost[i][m(i)] (dynamic
    /// programming; needs at least as many columns as rows).
    static func increasingAssignment(_ cost: [[Double]]) -> [Int] {
        let n = cost.count, m = cost.first?.count ?? 0
        guard n > 0, m >= n else { return Array(0..<n) }
        // best[i][j]: least cost of rows 0…i with row i at column j.
        var best = [[Double]](repeating: [Double](repeating: .infinity, count: m), count: n)
        var from = [[Int]](repeating: [Int](repeating: -1, count: m), count: n)
        for j in 0..<m { best[0][j] = cost[0][j] }
        for i in 1..<n {
            var runMin = Double.infinity, runArg = -1
            for j in 0..<m {
                if j > 0, best[i - 1][j - 1] < runMin { runMin = best[i - 1][j - 1]; runArg = j - 1 }
                if runArg >= 0 { best[i][j] = runMin + cost[i][j]; from[i][j] = runArg }
            }
        }
        var j = (0..<m).min { best[n - 1][$0] < best[n - 1][$1] }!
        var out = [Int](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            out[i] = j
            j = from[i][j]
        }
        return out
    }

    /// One training step: gradients, clipping, the AdamW update at `learningRate`, and the fake
    /// quantization of the updated weights.
    public func step(_ batch: TokenBatch, audio: Audio, learningRate: Double) throws -> StepReport {
        let loss = try computeGradients(batch, audio: audio)
        let norm = clipGradients(student, maxNorm: maxGradientNorm)
        optimizer.update(student, learningRate: learningRate, decays: decays)
        try fakeQuantization?.refresh()
        return StepReport(loss: loss, gradientNorm: norm, learningRate: learningRate)
    }
}
