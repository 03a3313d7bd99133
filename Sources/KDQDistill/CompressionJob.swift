import Foundation
import KDQAnalysis
import KDQEngine
import KDQFormats
import KDQJSON
import KDQQuantize
import KDQTensor
import KDQTrain

/// `kdq compress`'s pipeline: for every candidate decoder depth, layer-pruned students (the
/// blocks whose removal costs least untrained, and distil-whisper's even choice) trained for a
/// few probe steps; the teacher's sensitivity
/// profile, mapped onto each student, plans its encodings so that the whole archive fits the
/// budget; the candidate with the lowest validation KL plus predicted quantization KL wins,
/// trains on through its planned encodings (quantization-aware), and is written exactly as
/// trained — unless training raised its calibration KL above the untrained student's in the
/// same encodings, which is then written instead (with no epochs asked for, it is written
/// untrained) — with every record and an evaluation against
/// the teacher on the calibration set.
public final class CompressionJob {
    /// What the caller chose.
    public struct Request {
        public var teacher: String
        /// Training audio (JSON Lines; text optional).
        public var data: String
        /// Audio with reference text, for the sensitivity profile and the evaluation.
        public var calibration: String
        /// The archive file may take at most this many megabytes (10⁶ bytes).
        public var targetMegabytes: Double
        /// Decoder depths to consider.
        public var depths: [Int]
        /// Where labelled clips and each candidate's checkpoints go.
        public var workDirectory: String
        /// Clips (spread over the data) the teacher transcribes to score layer choices.
        public var selectionClips = 16
        /// Word lists whose tokens every student keeps (`VocabularyTrimming`); empty: the whole vocabulary.
        public var wordLists: [String] = []
        /// Which clips of the data train, the validation slice, the label filter and the cache.
        public var clips = ClipSelection()
        /// Steps every candidate trains before the candidates are compared.
        public var probeSteps = 20
        public var settings = DistillationSettings()
        public var calibrationCount = 8
        /// Run the model for every encoding of every tensor when profiling (else only the narrowest).
        public var measureAll = false
        /// Check the winner's largest tensor's encoding on the whole model (`PlanRefinement`).
        /// Off by default: the check judges the untrained student, and the one plan it improved
        /// at 29.9 MB trained to a worse student (docs/distillation.md).
        public var refine = false
        /// How the teacher's calibration inputs weigh each weight's quantization error.
        public var weighting = ErrorWeighting.activations
        /// With `covariance` weighting: training clips (spread over those the run uses, labelled
        /// by the teacher into the clip cache training reads) whose token sequences give the
        /// decoder's layers their GPTQ covariances; 0 leaves the decoder to the calibration windows.
        public var covarianceClips = 512
        /// With `covariance` weighting and covariance clips: whether those clips' audio also
        /// observes the encoder, besides the calibration utterances.
        public var encoderCovariances = EncoderCovarianceSource.calibration
        /// Tensors every student's plan holds to an encoding (or to its own); the rest are
        /// planned around them within the budget.
        public var rules: [KeepRule] = []
        /// The encodings the plans choose among.
        public var encodings = QuantizationCandidates.encodings
        /// Fold activation-aware input scales fitted for this encoding into the teacher before
        /// anything is measured (`InputScaling`; every student inherits them); nil: none.
        public var inputScaling: Encoding?
        public var options = DecodingOptions()
        /// How the archive will be written (its command line counts in its size).
        public var writeOptions = KDQWriteOptions()

        public init(teacher: String, data: String, calibration: String, targetMegabytes: Double, depths: [Int], workDirectory: String) {
            self.teacher = teacher
            self.data = data
            self.calibration = calibration
            self.targetMegabytes = targetMegabytes
            self.depths = depths
            self.workDirectory = workDirectory
        }
    }

    /// A depth left out: no plan of it fits the budget.
    public struct LeftOut: Sendable {
        public let depth: Int
        public let reason: String

        public var json: JSONValue { .object(["depth": .number(depth), "reason": .string(reason)]) }
    }

    /// One candidate student, as measured.
    public struct Candidate: Sendable {
        /// The teacher's decoder blocks it keeps.
        public let decoderLayers: [Int]
        /// How they were chosen (`measured` or `even`).
        public let selection: LayerSelection.Method
        /// Its KL from the teacher when pruned, before training (selection clips).
        public let prunedKL: Double?
        /// Validation KL after the probe steps.
        public let probeKL: Double
        /// Steps it trained before `probeKL` was measured: none for the teacher's own depth,
        /// which starts at the teacher (its probe would only measure the teacher against itself).
        public let probeSteps: Int
        /// The summed measured KL of the encodings planned for it (the teacher's profile).
        public let quantizationKL: Double
        public let tensorBytes: Int
        public let bitsPerWeight: Double
        /// What the choice minimizes: probe KL plus predicted quantization KL.
        public var score: Double { probeKL + quantizationKL }

        /// The candidate back from its JSON form; `probeSteps` for records written before each
        /// candidate carried its own.
        public init(json v: JSONValue, probeSteps recordedSteps: Int = 0) throws {
            guard let layers = v["decoder_layers"]?.arrayValue?.compactMap(\.intValue),
                  let selection = v["selection"]?.stringValue.flatMap(LayerSelection.Method.init(rawValue:)),
                  let probeKL = v["probe_validation_kl"]?.doubleValue, let quantizationKL = v["predicted_quantization_kl"]?.doubleValue else {
                throw TrainingError("bad compress candidate \(v.serialized(pretty: false).prefix(200))")
            }
            self.init(decoderLayers: layers, selection: selection, prunedKL: v["pruned_kl"]?.doubleValue, probeKL: probeKL,
                      probeSteps: v["probe_steps"]?.intValue ?? recordedSteps, quantizationKL: quantizationKL,
                      tensorBytes: v["tensor_bytes"]?.intValue ?? 0, bitsPerWeight: v["bits_per_weight"]?.doubleValue ?? 0)
        }

        init(decoderLayers: [Int], selection: LayerSelection.Method, prunedKL: Double?, probeKL: Double, probeSteps: Int, quantizationKL: Double,
             tensorBytes: Int, bitsPerWeight: Double) {
            self.decoderLayers = decoderLayers
            self.selection = selection
            self.prunedKL = prunedKL
            self.probeKL = probeKL
            self.probeSteps = probeSteps
            self.quantizationKL = quantizationKL
            self.tensorBytes = tensorBytes
            self.bitsPerWeight = bitsPerWeight
        }

        public var json: JSONValue {
            .object(["decoder_layers": .array(decoderLayers.map { .number($0) }), "selection": .string(selection.rawValue), "pruned_kl": prunedKL.map { .number($0) } ?? .null,
                     "probe_validation_kl": .number(probeKL), "probe_steps": .number(probeSteps), "predicted_quantization_kl": .number(quantizationKL),
                     "tensor_bytes": .number(tensorBytes), "bits_per_weight": .number(bitsPerWeight), "score": .number(score)])
        }
    }

    /// What the job made.
    public struct Result {
        /// The compressed student with its records, ready for `KDQArchiveWriter`.
        public let checkpoint: Checkpoint
        public let candidates: [Candidate]
        public let chosen: Int
        /// Depths left out because no plan of theirs fits the budget, and why.
        public let unreachable: [LeftOut]
        public let plan: QuantizationPlan
        /// The student against the teacher on the calibration set (source = teacher).
        public let check: QuantizationJob.Check
        /// Whether the trained student or its untrained start was kept, and their KLs.
        public let outcome: TrainingOutcome
        public let archiveBytes: Int
        public let writeOptions: KDQWriteOptions
        public let steps: Int
        /// What the student's decoder attended to while it trained: the teacher's encoder
        /// outputs, its own planned encoder's (cached), or its own encoder trained with it; nil
        /// when it did not train (no epochs asked for).
        public let encoderOutputs: DistillationJob.EncoderOutputs?
        public let trainingSeconds: Double
        public let seconds: [(phase: String, seconds: Double)]
    }

    public let request: Request

    public init(_ request: Request) throws {
        guard !request.depths.isEmpty, request.depths.allSatisfy({ $0 >= 1 }) else { throw TrainingError("give at least one decoder depth of 1 or more") }
        guard request.targetMegabytes > 0 else { throw TrainingError("the target size must be positive") }
        if request.encoderCovariances == .clips, request.weighting != .covariance || request.covarianceClips == 0 {
            throw TrainingError("the encoder's covariances from the clips need covariance weighting and covariance clips (got \(request.weighting.rawValue), \(request.covarianceClips) clips)")
        }
        self.request = request
    }

    /// The default depths for a teacher of `layers` decoder blocks: a third, half and two
    /// thirds, and every block (the teacher itself, fine-tuned through its encodings).
    public static func defaultDepths(_ layers: Int) -> [Int] {
        Array(Set([layers / 3, layers / 2, 2 * layers / 3].map { max(1, $0) } + [layers])).sorted()
    }

    /// A student that keeps every teacher block starts at the teacher: it only has to recover
    /// from its encodings, and trains at this fraction of the learning rate (quantization-aware
    /// fine-tuning, not learning a new decoder).
    public static let wholeDecoderLearningRateFactor = 0.1

    /// Runs the pipeline; nil when `shouldStop` stopped training (the work directory keeps
    /// the checkpoints; run again to continue). `progress` gets a phase, done and total.
    public func run(progress: @escaping (String, Int, Int) -> Void = { _, _, _ in }, shouldStop: @escaping () -> Bool = { false }) throws -> Result? {
        let r = request
        let clock = Stopwatch()
        var seconds: [(String, Double)] = []
        var teacher = try Checkpoint.open(r.teacher)
        // Loaded once: input scaling and the teacher's profile read the same audio.
        var loadedSet: CalibrationSet?
        if let encoding = r.inputScaling {
            let set = try CalibrationSet(manifest: r.calibration, count: r.calibrationCount)
            loadedSet = set
            teacher = try InputScaling.fit(teacher, calibration: set, encoding: encoding, blocks: .search, options: r.options,
                                           progress: { progress("scale", $0, $1) }).checkpoint
            seconds.append(("scale", clock.lap()))
        }
        // Kept tokens are the same for every student: computed once.
        let keptTokens = try r.wordLists.isEmpty ? nil : VocabularyTrimming.keptTokens(teacher, wordLists: r.wordLists)
        func build(_ depth: Int, _ choice: StudentBuilder.Choice, _ clips: [TaughtClip],
                   progress: (Int, Int) -> Void = { _, _ in }) throws -> (checkpoint: Checkpoint, selection: LayerSelection) {
            let (pruned, selection) = try StudentBuilder.build(teacher, decoderLayers: depth, encoderLayers: nil, choice: choice, clips: clips,
                                                               progress: progress)
            guard let keptTokens else { return (pruned, selection) }
            return (try VocabularyTrimming.trim(pruned, keeping: keptTokens), selection)
        }
        guard r.depths.allSatisfy({ $0 <= teacher.dims.nTextLayer }) else {
            throw TrainingError("student depths \(r.depths) must be at most the teacher's \(teacher.dims.nTextLayer) decoder blocks")
        }
        // Depths whose tensors alone cannot fit the budget are dropped before anything is measured.
        var unreachable: [LeftOut] = []
        let depths = try r.depths.filter { depth in
            let (sized, _) = try build(depth, .even, [])
            do {
                try QuantizationPlanner.checkReachable(sized, QuantizationPlanner.measurable(sized), budget: .megabytes(r.targetMegabytes))
                return true
            } catch let e as QuantizeError {
                unreachable.append(LeftOut(depth: depth, reason: e.description))
                return false
            }
        }
        if depths.isEmpty { throw noStudentFits(unreachable) }
        let teacherModel = try WhisperModel(teacher)
        let clips = try StudentBuilder.calibrationClips(teacherModel, manifest: r.data, count: r.selectionClips, options: r.options)
        // Per depth, the blocks whose removal costs least untrained (measured) and distil-whisper's
        // even choice: which one trains better is what the probes measure.
        var students: [(checkpoint: Checkpoint, selection: LayerSelection)] = []
        for (k, depth) in depths.enumerated() {
            if depth == teacher.dims.nTextLayer {  // every block: nothing to choose
                students.append(try build(depth, .even, []))
                continue
            }
            let measured = try build(depth, .measured, clips) { done, total in
                progress("select", k * total + done, depths.count * total)
            }
            students.append(measured)
            let even = try build(depth, .even, [])
            if even.1.decoderLayers != measured.1.decoderLayers { students.append(even) }
        }
        seconds.append(("select", clock.lap()))

        // The teacher's sensitivity to each encoding of every tensor some student keeps.
        let set = try loadedSet ?? CalibrationSet(manifest: r.calibration, count: r.calibrationCount)
        let decoderCalibration = r.weighting == .covariance && r.covarianceClips > 0
            ? try labelledSequences(teacherModel, progress: { progress("label", $0, $1) }) : nil
        let profiler = try SensitivityProfiler(checkpoint: teacher, model: teacherModel, calibration: set, options: r.options, blocks: .search,
                                               weighting: r.weighting, decoderCalibration: decoderCalibration,
                                               progress: { progress("covariances", $0, $1) })
        let kept = Set(students.flatMap(\.selection.decoderLayers))
        let measurable = QuantizationPlanner.measurable(teacher, among: r.encodings).filter { Self.block(of: $0.name).map { kept.contains($0.index) } ?? true }
        let profile = try cachedProfile(profiler, measurable) { progress("profile", $0, $1) }
        let calibration = QuantizationRecord.Calibration(manifest: set.manifest, utterances: set.utterances.count, windows: set.windows.count,
                                                         layout: CalibrationSet.Windows.packed.rawValue, positions: profiler.positions)
        seconds.append(("profile", clock.lap()))

        var quantization = QuantizationJob.Request(method: .guided(.megabytes(r.targetMegabytes)))
        quantization.calibration = r.calibration
        quantization.writeOptions = r.writeOptions
        quantization.rules = r.rules
        quantization.candidates = r.encodings
        quantization.reservedBytes = Self.distillationRecordAllowance(epochs: r.settings.epochs, candidates: students.count)
            + (r.refine ? PlanRefinement.recordAllowance : 0)
        let planner = try QuantizationJob(quantization)

        // Every student that fits the budget is planned, then trains its probe steps (the start
        // of its full run).
        var candidates: [Candidate] = []
        var plans: [(QuantizationPlan, SensitivityProfile, TensorQuantizer)] = []
        var probed: [(checkpoint: Checkpoint, selection: LayerSelection)] = []
        for (k, student) in students.enumerated() {
            let layers = student.selection.decoderLayers
            let mapped = profile.mapped(student.checkpoint.tensors) { Self.teacherName($0, layers: layers) }
            let quantizer = profiler.quantizer.renamed { Self.studentName($0, layers: layers) }
            let plan: QuantizationPlan
            do {
                plan = try planner.plan(student.checkpoint, profile: mapped, budget: .megabytes(r.targetMegabytes), quantizer: quantizer,
                                        calibration: calibration)
            } catch let e as QuantizeError {
                unreachable.append(LeftOut(depth: layers.count, reason: e.description))
                continue
            }
            let job = try distillation(student.checkpoint, layers: layers, teacher: teacher, planned: nil)
            try job.prepare(progress: { progress("label", $0, $1) })
            let loop = job.loop!
            let probeSteps = layers.count == teacher.dims.nTextLayer ? 0 : r.probeSteps
            let probe = try probeRecord(layers, steps: probeSteps)
            if probe == nil {
                if loop.hasCheckpoint { try loop.restore() }
                if loop.step < probeSteps {
                    _ = try loop.run(resume: false, shouldStop: { loop.step >= probeSteps || shouldStop() }) { step, _, _ in
                        progress("probe \(k + 1)/\(students.count)", step, probeSteps)
                    }
                    if shouldStop() { return nil }
                }
            }
            let probeKL = try probe ?? loop.validationLoss().kl
            if probe == nil { try saveProbeRecord(layers, steps: probeSteps, kl: probeKL) }
            let scored = students.flatMap(\.selection.candidates)
            let prunedKL = scored.first { $0.decoderLayers == layers }?.kl
            candidates.append(Candidate(decoderLayers: layers, selection: student.selection.method, prunedKL: prunedKL, probeKL: probeKL, probeSteps: probeSteps, quantizationKL: plan.predictedKL ?? 0,
                                        tensorBytes: plan.tensorBytes, bitsPerWeight: plan.bitsPerWeight))
            plans.append((plan, mapped, quantizer))
            probed.append(student)
        }
        guard !candidates.isEmpty else { throw noStudentFits(unreachable) }
        seconds.append(("probe", clock.lap()))

        // The winner trains on through its planned encodings.
        let chosen = candidates.indices.min { candidates[$0].score < candidates[$1].score }!
        var (plan, mapped, quantizer) = plans[chosen]
        let student = probed[chosen]
        var refinement: PlanRefinement?
        if r.refine {
            (plan, refinement) = try planner.refined(plan, of: student.checkpoint, profile: mapped, budget: .megabytes(r.targetMegabytes),
                                                     quantizer: quantizer, calibration: calibration, profiler: profiler, progress: progress)
            seconds.append(("refine", clock.lap()))
        }
        var planned = student.checkpoint
        let conversions = try plan.apply(to: &planned, quantizer: quantizer)
        var trained: (checkpoint: Checkpoint, model: WhisperModel, steps: Int, seconds: Double, encoderOutputs: DistillationJob.EncoderOutputs)?
        if r.settings.epochs > 0 {
            let job = try distillation(student.checkpoint, layers: student.selection.decoderLayers, teacher: teacher, planned: planned,
                                       quantizer: quantizer)
            try job.prepare(progress: { progress("label", $0, $1) }, encoding: { progress("encode", $0, $1) })
            let loop = job.loop!
            if loop.hasCheckpoint { try loop.restore() }
            let finished = try loop.run(resume: false, shouldStop: shouldStop) { step, total, _ in progress("train", step, total) }
            guard finished else { return nil }
            let checkpoint = try job.result()
            trained = (checkpoint, try WhisperModel(checkpoint), loop.step, loop.seconds, job.encoderOutputs)
            seconds.append(("train", clock.lap()))
        }

        // The trained student against its start (the same encodings, untrained) on the
        // calibration set: the lower KL is kept, with the training record either way.
        let startModel = try WhisperModel(planned)
        let outcome = TrainingOutcome(startKL: try profiler.meanKL(of: startModel), trainedKL: try trained.map { try profiler.meanKL(of: $0.model) })
        let keptTraining = outcome.kept == .trained ? trained : nil
        var result = keptTraining?.checkpoint ?? planned
        if let trained { result.archiveManifest = trained.checkpoint.archiveManifest }

        // Records, and the student against the teacher on the calibration set.
        var manifest = result.archiveManifest ?? JSONObject()
        var compression = manifest["compression"]?.objectValue ?? JSONObject()
        if case .object(var distilled) = compression["layer_map"] ?? .null {
            distilled["student_depth"] = .object([
                "rule": "lowest probe validation KL + predicted quantization KL at the budget",
                "probe_steps": .number(r.probeSteps), "target_bytes": .number(Int(r.targetMegabytes * 1_000_000)),
                "candidates": .array(candidates.map(\.json)), "chosen": .number(chosen),
                "unreachable": .array(unreachable.map(\.json)), "outcome": outcome.json])
            compression["layer_map"] = .object(distilled)
        }
        compression["encodings"] = QuantizationRecord.encodings(plan, profile: mapped, quantizer: quantizer, calibration: calibration,
                                                                refinement: refinement)
        compression["error_profiles"] = QuantizationRecord.errorProfiles(mapped)
        let check = try QuantizationJob.Check.measure(keptTraining?.model ?? startModel, against: teacherModel,
                                                      profiler: profiler, set: set, meanKL: outcome.keptKL, options: r.options, progress: progress)
        compression["evaluation"] = check.record(calibration)
        manifest["compression"] = .object(compression)
        result.archiveManifest = manifest
        var writeOptions = r.writeOptions
        writeOptions.conversions = conversions
        let bytes = try KDQArchiveWriter.archiveBytes(result, options: writeOptions)
        guard bytes <= Int(r.targetMegabytes * 1_000_000) else {
            throw TrainingError("the compressed archive would take \(bytes) bytes, over the \(Int(r.targetMegabytes * 1_000_000)) asked for (its records outgrew the room kept for them)")
        }
        seconds.append(("evaluate", clock.lap()))
        return Result(checkpoint: result, candidates: candidates, chosen: chosen, unreachable: unreachable, plan: plan,
                      check: check, outcome: outcome,
                      archiveBytes: bytes, writeOptions: writeOptions, steps: trained?.steps ?? 0,
                      encoderOutputs: trained?.encoderOutputs, trainingSeconds: trained?.seconds ?? 0, seconds: seconds)
    }

    /// `covarianceClips` of the training clips, spread over those the run uses, as the teacher
    /// labels them (`ClipLabeller`, into the clip cache that training reads, so nothing is
    /// labelled twice): their token sequences, and their cached encoder outputs — or, with
    /// `encoderCovariances` from the clips, their audio encoded again while the encoder is observed.
    func labelledSequences(_ teacher: WhisperModel, progress: (Int, Int) -> Void) throws -> DecoderCalibration {
        let r = request
        let manifest = try ClipManifest(path: r.data)
        let used = r.clips.limit.map { manifest.spread($0) } ?? manifest.clips
        let cache = try ClipCache(directory: r.clips.cache ?? r.workDirectory + "/clips")
        var labeller = ClipLabeller(teacher: teacher, options: r.options, cache: cache)
        labeller.maxReferenceWER = r.clips.maxReferenceWER
        let chosen = ClipManifest.spread(used, r.covarianceClips)
        let kept = try labeller.prepare(chosen, progress: progress).kept
        let audio = Dictionary(uniqueKeysWithValues: chosen.map { ($0.id, $0.audio) })
        let values = teacher.dims.nAudioCtx * teacher.dims.nAudioState
        return DecoderCalibration(manifest: r.data, count: kept.count, observesEncoder: r.encoderCovariances == .clips) { i, pass in
            let path = pass.observesEncoder ? audio[kept[i]] : nil
            guard let clip = try cache.load(kept[i], encoderValues: values, encoderOutput: path == nil) else {
                throw TrainingError("\(cache.path(kept[i])): the labelled clip \(kept[i]) left the cache while it was read")
            }
            guard let path else { return (clip.encoderOutput, clip.tokens) }
            return (try pass.run(try AudioLoader.window(path)), clip.tokens)
        }
    }

    func noStudentFits(_ unreachable: [LeftOut]) -> TrainingError {
        TrainingError("no student fits \(request.targetMegabytes) MB: "
                      + unreachable.map { "\($0.depth) decoder blocks: \($0.reason)" }.joined(separator: "; ")
                      + " (fewer decoder blocks, or a larger --target-mb)")
    }

    /// The distillation of one candidate, in its own work directory, sharing the clip cache;
    /// with a `planned` student, its tensors train through `quantizer`'s encodings (the plan's).
    func distillation(_ student: Checkpoint, layers: [Int], teacher: Checkpoint, planned: Checkpoint?,
                      quantizer: TensorQuantizer? = nil) throws -> DistillationJob {
        let r = request
        var d = DistillationJob.Request(teacher: r.teacher, student: r.teacher, data: r.data, workDirectory: candidateDirectory(layers))
        d.clips = r.clips
        d.clips.cache = r.clips.cache ?? r.workDirectory + "/clips"
        d.settings = r.settings
        if layers.count == teacher.dims.nTextLayer { d.settings.learningRate *= Self.wholeDecoderLearningRateFactor }
        d.options = r.options
        let encode = quantizer.map { q in { try q.convert($0, $1, to: $2) } } ?? FakeQuantization.nearest
        return try DistillationJob(d, teacher: teacher, student: student, planned: planned, encode: encode)
    }

    func candidateDirectory(_ layers: [Int]) -> String {
        request.workDirectory + "/decoder-" + layers.map(String.init).joined(separator: "-")
    }

    /// The probe's validation KL, kept beside the candidate's checkpoint (which training moves on).
    func probeRecord(_ layers: [Int], steps: Int) throws -> Double? {
        guard let data = FileManager.default.contents(atPath: candidateDirectory(layers) + "/probe.json") else { return nil }
        let v = try JSONValue.parse(String(decoding: data, as: UTF8.self))
        guard v["probe_steps"]?.intValue == steps else { return nil }
        return v["validation_kl"]?.doubleValue
    }

    func saveProbeRecord(_ layers: [Int], steps: Int, kl: Double) throws {
        let v: JSONValue = .object(["probe_steps": .number(steps), "validation_kl": .number(kl)])
        try writeWhole(Data(v.serialized(pretty: false).utf8), to: candidateDirectory(layers) + "/probe.json")
    }

    /// The teacher's profile of `measurable`, measured once per work directory: a rerun takes
    /// every measurement from `teacher-profile.json` there (each checked against the weights,
    /// calibration and quantizer of this run by `RecordedProfile`; a file that does not match
    /// is measured again and replaced).
    func cachedProfile(_ profiler: SensitivityProfiler, _ measurable: [(name: String, candidates: [Encoding])],
                       progress: @escaping (Int, Int) -> Void) throws -> SensitivityProfile {
        let path = request.workDirectory + "/teacher-profile.json"
        let cached = FileManager.default.contents(atPath: path).flatMap { data in
            try? RecordedProfile(compression: JSONValue.parse(String(decoding: data, as: UTF8.self)).objectValue, source: path)
        }
        let profile: SensitivityProfile
        if let cached, let reused = try? profiler.profile(measurable, measureAll: request.measureAll, recorded: cached, progress: progress) {
            profile = reused
        } else {
            profile = try profiler.profile(measurable, measureAll: request.measureAll, progress: progress)
        }
        try FileManager.default.createDirectory(atPath: request.workDirectory, withIntermediateDirectories: true)
        try writeWhole(Data(JSONValue.object(QuantizationRecord.profileRecord(profile)).serialized().utf8), to: path)
        return profile
    }

    /// Room for the distillation record that replaces the student's selection record: at most
    /// 200 training-curve points, one validation point per epoch, the candidates, settings and data.
    static func distillationRecordAllowance(epochs: Int, candidates: Int) -> Int {
        320 * (200 + epochs) + 512 * candidates + 16_384
    }

    /// The decoder block `name` is in, if any.
    static func block(of name: String) -> BlockTensorName? {
        BlockTensorName(name).flatMap { $0.stack == .decoder ? $0 : nil }
    }

    /// The teacher tensor a student tensor was copied from.
    static func teacherName(_ name: String, layers: [Int]) -> String? {
        guard let b = block(of: name) else { return name }
        return b.index < layers.count ? b.renumbered(layers[b.index]).name : nil
    }

    /// The student tensor a teacher tensor became (nil for blocks the student drops).
    static func studentName(_ name: String, layers: [Int]) -> String? {
        guard let b = block(of: name) else { return name }
        return layers.firstIndex(of: b.index).map { b.renumbered($0).name }
    }
}
