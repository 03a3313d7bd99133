import KDQAnalysis
import KDQEngine
import KDQFormats
import KDQJSON
import KDQTensor

/// `kdq quantize`'s pipeline, shared with `kdq compress`: calibration, sensitivity profile,
/// plan (uniform, or guided under a budget that bounds the whole archive file), conversion, the
/// record in the manifest and the end-to-end check on the calibration set.
public struct QuantizationJob {
    /// What to make.
    public enum Method: Sendable {
        /// whisper.cpp's rule: linear weights and the token embedding in one type.
        case uniform(Encoding)
        /// One encoding per tensor from measured sensitivity; `.megabytes` bounds the whole file.
        case guided(SizeBudget)
    }

    /// What the caller chose.
    public struct Request {
        public var method: Method
        public var rules: [KeepRule] = []
        /// How ggml blocks are encoded (default: search for guided plans, nearest for uniform).
        public var blocks: BlockQuantizer?
        /// How the search quantizer weighs each weight's error by the calibration audio.
        public var weighting = ErrorWeighting.activations
        /// With `covariance` weighting: audio (JSON Lines, text optional: the source model's
        /// transcript stands in) whose token sequences give the decoder's layers their GPTQ
        /// covariances (`DecoderCalibration`); nil leaves the decoder to the calibration windows.
        public var covarianceData: String?
        /// Clips of `covarianceData` used, spread over it.
        public var covarianceClips = 512
        /// Whether the clips of `covarianceData` also observe the encoder, besides the calibration utterances.
        public var encoderCovariances = EncoderCovarianceSource.calibration
        /// A manifest with text (as `kdq eval`); required for guided plans.
        public var calibration: String?
        public var calibrationCount = 32
        public var calibrationWindows: CalibrationSet.Windows = .packed
        public var candidates: [Encoding] = QuantizationCandidates.encodings
        /// Run the model for every candidate (else only the narrowest, the rest scaled).
        public var measureAll = true
        /// A guided archive whose recorded sensitivities are reused.
        public var profileFrom: String?
        public var options = DecodingOptions()
        /// Measure the result's KL and WER on the calibration set.
        public var evaluate = true
        /// How the archive will be written (its command line and compression count in its size).
        public var writeOptions = KDQWriteOptions()
        /// Bytes the caller will add to the manifest beyond the quantization record, which a
        /// budget in megabytes must leave room for.
        public var reservedBytes = 0
        /// Guided plans: check the largest tensor's encoding on the whole model (`PlanRefinement`).
        public var refine = true
        /// Fold activation-aware input scales fitted for this encoding into the model before
        /// anything is measured (`InputScaling`); nil leaves the weights as they are.
        public var inputScaling: Encoding?

        public init(method: Method) { self.method = method }
    }

    /// The result's KL and word errors against the source on the calibration set.
    public struct Check: Sendable {
        public let meanKL: Double
        public let sourceWords: EditCounts
        public let quantizedWords: EditCounts

        public init(meanKL: Double, sourceWords: EditCounts, quantizedWords: EditCounts) {
            self.meanKL = meanKL
            self.sourceWords = sourceWords
            self.quantizedWords = quantizedWords
        }

        /// `candidate` against `source` (the profiler's model) on the calibration set: mean KL
        /// (unless already measured) and both models' word errors; `progress` gets "evaluate"
        /// and steps of 3.
        public static func measure(_ candidate: WhisperModel, against source: WhisperModel, profiler: SensitivityProfiler, set: CalibrationSet,
                                   meanKL measured: Double? = nil, options: DecodingOptions, progress: (String, Int, Int) -> Void) throws -> Check {
            progress("evaluate", 0, 3)
            let kl = try measured ?? profiler.meanKL(of: candidate)
            progress("evaluate", 1, 3)
            let sourceWords = try set.wordErrors(source, options: options)
            progress("evaluate", 2, 3)
            let quantizedWords = try set.wordErrors(candidate, options: options)
            progress("evaluate", 3, 3)
            return Check(meanKL: kl, sourceWords: sourceWords, quantizedWords: quantizedWords)
        }

        /// Its `compression.evaluation` record.
        public func record(_ calibration: QuantizationRecord.Calibration) -> JSONValue {
            QuantizationRecord.evaluation(calibration: calibration, meanKL: meanKL, sourceWords: sourceWords, quantizedWords: quantizedWords)
        }
    }

    /// What the job made.
    public struct Result {
        /// The quantized checkpoint with its record, ready for `KDQArchiveWriter`.
        public let checkpoint: Checkpoint
        public let plan: QuantizationPlan
        public let profile: SensitivityProfile?
        public let check: Check?
        /// Bytes of the archive file without compression.
        public let archiveBytes: Int
        /// The write options, with the conversions made.
        public let writeOptions: KDQWriteOptions
        /// Seconds per phase, in order.
        public let seconds: [(phase: String, seconds: Double)]
    }

    public let request: Request

    public init(_ request: Request) throws {
        if case .guided = request.method, request.calibration == nil { throw QuantizeError("a guided plan needs calibration audio") }
        if request.covarianceData != nil, request.weighting != .covariance {
            throw QuantizeError("audio for the decoder's covariances is used by covariance weighting only, not \(request.weighting.rawValue)")
        }
        if request.encoderCovariances == .clips, request.covarianceData == nil {
            throw QuantizeError("the encoder's covariances from clips need the clips (covariance data)")
        }
        if request.inputScaling != nil, request.calibration == nil { throw QuantizeError("input scaling needs calibration audio") }
        self.request = request
    }

    var blocks: BlockQuantizer {
        if let b = request.blocks { return b }
        if case .uniform = request.method { return .nearest }
        return .search
    }

    /// Quantizes `source`; `progress` gets the phase, done and total.
    public func run(_ source: Checkpoint, progress: @escaping (String, Int, Int) -> Void = { _, _, _ in }) throws -> Result {
        var checkpoint = source
        let r = request
        let clock = Stopwatch()
        var seconds: [(phase: String, seconds: Double)] = []
        // Loaded once: input scaling and the calibration pass read the same audio.
        var loadedSet: CalibrationSet?
        if let encoding = r.inputScaling, let calibration = r.calibration {
            let set = try CalibrationSet(manifest: calibration, count: r.calibrationCount, windows: r.calibrationWindows)
            loadedSet = set
            checkpoint = try InputScaling.fit(checkpoint, calibration: set, encoding: encoding, blocks: blocks, options: r.options,
                                              progress: { progress("scale", $0, $1) }).checkpoint
            seconds.append(("scale", clock.lap()))
        }
        let measurable = QuantizationPlanner.measurable(checkpoint, rules: r.rules, among: r.candidates)
        if case .guided(let budget) = r.method {
            try QuantizationPlanner.checkReachable(checkpoint, measurable, budget: budget, rules: r.rules)
        }
        // Read before the calibration pass, so that a wrong archive fails at once.
        let recorded = try r.profileFrom.map { try RecordedProfile(compression: Checkpoint.open($0).archiveManifest?["compression"]?.objectValue, source: $0) }
        var calibrationSet: CalibrationSet?
        var profiler: SensitivityProfiler?
        var sourceModel: WhisperModel?
        let weighs = blocks == .search && r.weighting != .none
        var guided = false
        if case .guided = r.method { guided = true }
        if let calibration = r.calibration, guided || r.evaluate || weighs {
            let set = try loadedSet ?? CalibrationSet(manifest: calibration, count: r.calibrationCount, windows: r.calibrationWindows)
            let model = try WhisperModel(checkpoint)
            calibrationSet = set
            sourceModel = model
            let decoderCalibration = try r.covarianceData.map {
                try DecoderCalibration.transcribed(manifest: $0, count: r.covarianceClips, model: model, options: r.options,
                                                  observesEncoder: r.encoderCovariances == .clips)
            }
            profiler = try SensitivityProfiler(checkpoint: checkpoint, model: model, calibration: set, options: r.options, blocks: blocks,
                                               weighting: weighs ? r.weighting : .none, decoderCalibration: weighs ? decoderCalibration : nil,
                                               progress: { progress("covariances", $0, $1) })
        }
        let quantizer = profiler?.quantizer ?? TensorQuantizer(blocks: blocks)
        seconds.append(("calibrate", clock.lap()))
        let calibrationRecord = calibrationSet.map { set in
            QuantizationRecord.Calibration(manifest: set.manifest, utterances: set.utterances.count, windows: set.windows.count,
                                           layout: r.calibrationWindows.rawValue, positions: profiler!.positions)
        }

        var plan: QuantizationPlan
        var profile: SensitivityProfile?
        var refinement: PlanRefinement?
        let planner = r.refine ? try reserving(PlanRefinement.recordAllowance) : self
        switch r.method {
        case .uniform(let encoding):
            plan = QuantizationPlanner.uniform(checkpoint, encoding, rules: r.rules)
        case .guided(let budget):
            let measured = try profiler!.profile(measurable, measureAll: r.measureAll, recorded: recorded) { progress("profile", $0, $1) }
            profile = measured
            plan = try planner.plan(checkpoint, profile: measured, budget: budget, quantizer: quantizer, calibration: calibrationRecord)
        }
        seconds.append(("profile", clock.lap()))
        if r.refine, case .guided(let budget) = r.method, let profile, let profiler {
            (plan, refinement) = try planner.refined(plan, of: checkpoint, profile: profile, budget: budget, quantizer: quantizer,
                                                     calibration: calibrationRecord, profiler: profiler, progress: progress)
            seconds.append(("refine", clock.lap()))
        }

        let conversions = try plan.apply(to: &checkpoint, quantizer: quantizer)
        seconds.append(("convert", clock.lap()))

        var compression = checkpoint.archiveManifest?["compression"]?.objectValue ?? JSONObject()
        compression["encodings"] = QuantizationRecord.encodings(plan, profile: profile, quantizer: quantizer, calibration: calibrationRecord,
                                                                refinement: refinement)
        compression["error_profiles"] = profile.map(QuantizationRecord.errorProfiles) ?? .null
        var check: Check?
        if r.evaluate, let set = calibrationSet, let profiler, let sourceModel, let calibrationRecord {
            let measured = try Check.measure(try WhisperModel(checkpoint), against: sourceModel, profiler: profiler, set: set, options: r.options,
                                             progress: progress)
            check = measured
            compression["evaluation"] = measured.record(calibrationRecord)
        } else {
            compression["evaluation"] = .null
        }
        var manifest = checkpoint.archiveManifest ?? JSONObject()
        manifest["compression"] = .object(compression)
        checkpoint.archiveManifest = manifest
        seconds.append(("evaluate", clock.lap()))

        var writeOptions = r.writeOptions
        writeOptions.conversions = conversions
        let bytes = try KDQArchiveWriter.archiveBytes(checkpoint, options: writeOptions)
        if case .guided(.megabytes(let mb)) = r.method, bytes > Int(mb * 1_000_000) {
            throw QuantizeError("the archive would take \(bytes) bytes, over the \(Int(mb * 1_000_000)) of --target-mb \(mb)")
        }
        return Result(checkpoint: checkpoint, plan: plan, profile: profile, check: check, archiveBytes: bytes, writeOptions: writeOptions,
                      seconds: seconds)
    }

    /// The guided plan for `budget`. A budget in megabytes bounds the whole archive: the plan
    /// is made for the tensors, the archive it gives (record, tokenizer, tar headers) is sized,
    /// and the plan is made again with the tensors' share reduced by the overshoot until it
    /// fits. `.sameAsUniform` gives the tensors up what the guided record takes beyond a
    /// uniform one's, so the file is no larger than the uniform archive.
    public func plan(_ c: Checkpoint, profile: SensitivityProfile, budget: SizeBudget, quantizer: TensorQuantizer,
                     calibration: QuantizationRecord.Calibration?, restricting: [String: Encoding] = [:]) throws -> QuantizationPlan {
        let r = request
        var plan = try QuantizationPlanner.guided(c, profile: profile, budget: budget, rules: r.rules, restricting: restricting)
        switch budget {
        case .bitsPerWeight:
            return plan
        case .sameAsUniform(let e):
            let uniform = QuantizationPlanner.uniform(c, e, rules: r.rules)
            let extra = recordBytes(plan, profile, quantizer, calibration) - recordBytes(uniform, nil, TensorQuantizer(blocks: .nearest), nil) + 2 * 512
            return try QuantizationPlanner.guided(c, profile: profile, budget: budget, rules: r.rules, reservedBytes: max(0, extra),
                                                  restricting: restricting)
        case .megabytes(let mb):
            let target = Int(mb * 1_000_000)
            var reserved = 0
            for attempt in 0..<8 {
                let size = try archiveBytes(c, plan: plan, profile: profile, quantizer: quantizer, calibration: calibration)
                if size <= target { return plan }
                // The overshoot, and a margin that doubles: the allocator works in steps of about
                // budget / 20,000 bytes, so a smaller change may give the same plan again.
                reserved += size - target + (1024 << attempt)
                do {
                    plan = try QuantizationPlanner.guided(c, profile: profile, budget: budget, rules: r.rules, reservedBytes: reserved,
                                                          restricting: restricting)
                } catch {
                    throw QuantizeError("\(mb) MB for the whole archive: its record, tokenizer and layout take \(size - plan.tensorBytes) bytes, and \(error)")
                }
            }
            throw QuantizeError("no plan within \(mb) MB for the whole archive was found (the tensors would get \(target - reserved) bytes)")
        }
    }

    /// The same job leaving `bytes` more of a budget in megabytes free.
    func reserving(_ bytes: Int) throws -> QuantizationJob {
        var r = request
        r.reservedBytes += bytes
        return try QuantizationJob(r)
    }

    /// `plan` for `c` after `PlanRefinement`: the largest tensor's encoding moved with the rest
    /// re-planned by this job, each plan's whole-model mean KL from the profiler's source measured
    /// on its calibration windows; the record is nil when there was nothing to move.
    public func refined(_ plan: QuantizationPlan, of c: Checkpoint, profile: SensitivityProfile, budget: SizeBudget,
                        quantizer: TensorQuantizer, calibration: QuantizationRecord.Calibration?, profiler: SensitivityProfiler,
                        progress: (String, Int, Int) -> Void) throws -> (plan: QuantizationPlan, record: PlanRefinement?) {
        let refined = try PlanRefinement.refine(c, plan: plan, profile: profile, makePlan: {
            try self.plan(c, profile: profile, budget: budget, quantizer: quantizer, calibration: calibration, restricting: $0)
        }, measure: { candidate in
            var encoded = c
            _ = try candidate.apply(to: &encoded, quantizer: quantizer)
            return try profiler.meanKL(of: WhisperModel(encoded))
        }, progress: { progress("refine", $0, $0) })
        return refined.map { ($0.plan, $0.record) } ?? (plan, nil)
    }

    /// Bytes of the archive `plan` gives `c`, with its record, a worst-case evaluation record
    /// and the reserved bytes: tensors stand in as zeros of their planned sizes.
    public func archiveBytes(_ c: Checkpoint, plan: QuantizationPlan, profile: SensitivityProfile, quantizer: TensorQuantizer,
                      calibration: QuantizationRecord.Calibration?) throws -> Int {
        var tensors = Dictionary(uniqueKeysWithValues: c.tensors.map { ($0.name, $0.tensor) })
        var conversions: [(tensor: String, from: Encoding, to: Encoding)] = []
        for choice in plan.choices where choice.chosen != choice.source {
            guard let t = tensors[choice.tensor] else { continue }
            let zeros = Storage(count: try choice.chosen.byteCount(elements: t.elementCount)) { $0.initializeMemory(as: UInt8.self, repeating: 0) }
            tensors[choice.tensor] = try Tensor(shape: t.shape, encoding: choice.chosen, data: zeros)
            conversions.append((choice.tensor, choice.source, choice.chosen))
        }
        var standIn = try Checkpoint(dims: c.dims, tensors: tensors, tokenizer: c.tokenizer, melFilters: c.melFilters, generation: c.generation,
                                     provenance: c.provenance)
        standIn.archiveManifest = c.archiveManifest  // its records and the provenance it carries forward
        var compression = standIn.archiveManifest?["compression"]?.objectValue ?? JSONObject()
        compression["encodings"] = QuantizationRecord.encodings(plan, profile: profile, quantizer: quantizer, calibration: calibration)
        compression["error_profiles"] = QuantizationRecord.errorProfiles(profile)
        if request.evaluate, let calibration {
            compression["evaluation"] = QuantizationRecord.widestEvaluation(calibration: calibration)
        }
        var manifest = standIn.archiveManifest ?? JSONObject()
        manifest["compression"] = .object(compression)
        standIn.archiveManifest = manifest
        var options = request.writeOptions
        options.conversions = conversions
        return try KDQArchiveWriter.archiveBytes(standIn, options: options) + request.reservedBytes
    }

    /// Bytes the manifest's record of `plan` takes (as the archive writes it).
    func recordBytes(_ plan: QuantizationPlan, _ profile: SensitivityProfile?, _ quantizer: TensorQuantizer,
                     _ calibration: QuantizationRecord.Calibration?) -> Int {
        let record: JSONValue = .object(["compression": .object([
            "encodings": QuantizationRecord.encodings(plan, profile: profile, quantizer: quantizer, calibration: calibration),
            "error_profiles": profile.map(QuantizationRecord.errorProfiles) ?? .null])])
        return KDQArchiveLayout.manifestBytes(record).count
    }
}
