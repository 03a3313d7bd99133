import ArgumentParser
import KDQAnalysis
import KDQEngine
import KDQFormats
import KDQJSON
import KDQQuantize
import KDQTensor

/// `kdq quantize MODEL -o OUT.kdq`: whisper.cpp's uniform quantization, or a guided one whose
/// bit width per tensor is chosen from measured sensitivity under a size budget.
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize a Whisper model, uniformly or guided by measured sensitivity under a size budget.",
        discussion: """
            Guided (the default): every matrix whose rows are whole 32-element blocks is quantized \
            alone to each candidate encoding, and the change in every layer's output and in the \
            next-token distributions (KL divergence from the unquantized model) is measured on the \
            calibration audio, packed into 30-second windows (every candidate is run; with \
            --no-measure-all only the narrowest, the others' KL scaled from it by their squared \
            weight error, about five times faster; --profile-from takes what an earlier guided \
            archive measured, to plan at another budget). \
            Blocks are encoded by an error-minimizing search, each column's error weighted by the mean \
            square of the layer's input on the calibration audio. An allocation then picks one encoding \
            per tensor that minimizes the summed KL within the budget (--target-mb, --target-bpw or \
            --match-uniform). --uniform does what whisper.cpp's quantizer does: linear weights and the \
            token embedding in one type. --keep pins tensors (shell patterns) to an encoding. The \
            archive records the plan, every alternative's measured loss, the per-layer profile and \
            the result's KL and WER on the calibration set; `kdq inspect --plan` shows them.
            """
    )

    @Argument(help: "Checkpoint file or model directory (any supported format, or a .kdq).")
    var source: String

    @Option(name: .shortAndLong, help: "Archive to write.")
    var output: String

    @Option(help: "Quantize uniformly, as whisper.cpp does, to this ggml type (q8_0, q5_1, q5_0, q4_1, q4_0).")
    var uniform: Encoding?

    @Option(help: "Guided: the tensor data may take at most this many megabytes (10^6 bytes).")
    var targetMb: Double?

    @Option(help: "Guided: at most this many bits per weight over all tensors.")
    var targetBpw: Double?

    @Option(help: "Guided: the size whisper.cpp's uniform quantization to this type gives (e.g. q4_0).")
    var matchUniform: Encoding?

    @Option(help: "Pin tensors: PATTERN=ENCODING, or PATTERN to keep their encoding (repeatable; e.g. 'encoder.conv*=f16').")
    var keep: [String] = []

    @Option(help: "Calibration manifest (JSON Lines or TSV, as kdq eval); required for guided plans.")
    var calibration: String?

    @Option(help: "Calibration utterances: N spread evenly over the manifest.")
    var calibrationCount: Int = 32

    @Option(help: "Calibration windows: packed (clips end to end in 30-second windows) or single (one clip per window, padded with silence, as short clips are transcribed).")
    var calibrationWindows: CalibrationSet.Windows = .packed

    @Option(help: "Candidate encodings for guided plans, comma-separated.")
    var candidates: String = QuantizationCandidates.encodings.map(\.rawValue).joined(separator: ",")

    @Flag(inversion: .prefixedNo,
          help: "Run the model for every candidate of every tensor, or (--no-measure-all) only for the narrowest, the others' KL scaled from it by their squared weight error (about five times faster, less exact).")
    var measureAll = true

    @Option(help: "Guided: reuse the sensitivities measured for this guided .kdq archive (same source, calibration and quantizer options), running the model only for what it lacks; to plan again at another budget.")
    var profileFrom: String?

    @Option(help: "How ggml blocks are encoded: nearest (whisper.cpp's rounding, byte-identical) or search (error-minimizing; same layout). Default: search for guided plans, nearest for uniform.")
    var quantizer: BlockQuantizer?

    @Option(help: "With the search quantizer and calibration audio: weight each column's error by the mean square of the layer's input on the calibration windows (activations) or not (none).")
    var weighting: ErrorWeighting = .activations

    @Option(help: "Language code for decoding the calibration audio (multilingual models).")
    var language: String?

    @Flag(help: "Skip the end-to-end check (the result's KL and WER on the calibration set).")
    var skipEvaluation = false

    @Option(help: "Compress the whole archive: none, zstd or xz.")
    var compress: KDQWriteOptions.Compression = .none

    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        let budgets = [targetMb != nil, targetBpw != nil, matchUniform != nil].filter { $0 }.count
        if let uniform {
            guard uniform.blockElements == 32 else { throw ValidationError("--uniform takes a ggml block type, not \(uniform.rawValue)") }
            guard budgets == 0 else { throw ValidationError("--uniform takes no size budget") }
            guard profileFrom == nil else { throw ValidationError("--uniform measures nothing; --profile-from is for guided plans") }
        } else {
            guard budgets == 1 else { throw ValidationError("give exactly one of --target-mb, --target-bpw, --match-uniform (or --uniform)") }
            guard calibration != nil else { throw ValidationError("a guided plan needs --calibration MANIFEST") }
        }
        if let matchUniform, matchUniform.blockElements != 32 { throw ValidationError("--match-uniform takes a ggml block type") }
        if let targetMb, !(targetMb > 0) { throw ValidationError("--target-mb must be positive") }
        if let targetBpw, !(targetBpw > 0) { throw ValidationError("--target-bpw must be positive") }
        guard calibrationCount >= 1 else { throw ValidationError("--calibration-count must be at least 1") }
        _ = try candidateEncodings()
    }

    func candidateEncodings() throws -> [Encoding] {
        try candidates.split(separator: ",").map { name in
            guard let e = Encoding(rawValue: String(name)), QuantizationCandidates.encodings.contains(e) else {
                throw ValidationError("unknown candidate '\(name)'; expected some of \(QuantizationCandidates.encodings.map(\.rawValue).joined(separator: ", "))")
            }
            return e
        }
    }

    func run() throws {
        var checkpoint = try Checkpoint.open(source)
        let rules = try keep.map { try KeepRule(parsing: $0) }
        let blocks = quantizer ?? (uniform == nil ? .search : .nearest)
        var options = DecodingOptions()
        options.language = language
        let clock = Stopwatch()

        let measurable = QuantizationPlanner.measurable(checkpoint, rules: rules, among: try candidateEncodings())
        if uniform == nil { try QuantizationPlanner.checkReachable(checkpoint, measurable, budget: budget(), rules: rules) }
        // Read before the calibration pass, so that a wrong archive fails at once.
        let recorded = try profileFrom.map { try RecordedProfile(compression: Checkpoint.open($0).archiveManifest?["compression"]?.objectValue, source: $0) }
        var calibrationSet: CalibrationSet?
        var profiler: SensitivityProfiler?
        var sourceModel: WhisperModel?
        // Calibration audio serves the profile, the end-to-end check and the weighting.
        let weighs = blocks == .search && weighting == .activations
        if let calibration, uniform == nil || !skipEvaluation || weighs {
            let set = try CalibrationSet(manifest: calibration, count: calibrationCount, windows: calibrationWindows)
            let model = try WhisperModel(checkpoint)
            calibrationSet = set
            sourceModel = model
            profiler = try SensitivityProfiler(checkpoint: checkpoint, model: model, calibration: set, options: options, blocks: blocks,
                                               weighted: weighs)
        }
        let quantizer = profiler?.quantizer ?? TensorQuantizer(blocks: blocks)
        let referenceSeconds = clock.lap()

        let plan: QuantizationPlan
        var profile: SensitivityProfile?
        if let uniform {
            plan = QuantizationPlanner.uniform(checkpoint, uniform, rules: rules)
        } else {
            let progress = TerminalProgress("profile")
            profile = try profiler!.profile(measurable, measureAll: measureAll, recorded: recorded) { done, total in progress.update(done, total) }
            progress.finish()
            var guided = try QuantizationPlanner.guided(checkpoint, profile: profile!, budget: budget(), rules: rules)
            if let matchUniform {
                // A guided archive records every alternative's losses and the profile, a uniform one
                // much less: the tensors give up the difference, so the whole file is no larger.
                let uniformPlan = QuantizationPlanner.uniform(checkpoint, matchUniform, rules: rules)
                let extra = recordBytes(guided, profile, quantizer) - recordBytes(uniformPlan, nil, TensorQuantizer(blocks: .nearest)) + 2 * 512
                guided = try QuantizationPlanner.guided(checkpoint, profile: profile!, budget: budget(), rules: rules, reservedBytes: max(0, extra))
            }
            plan = guided
        }
        let profileSeconds = clock.lap()

        let conversions = try plan.apply(to: &checkpoint, quantizer: quantizer)
        let convertSeconds = clock.lap()

        let record = calibrationSet.map { set in
            QuantizationRecord.Calibration(manifest: set.manifest, utterances: set.utterances.count, windows: set.windows.count,
                                           layout: calibrationWindows.rawValue, positions: profiler!.positions)
        }
        var compression = checkpoint.archiveManifest?["compression"]?.objectValue ?? JSONObject()
        compression["encodings"] = QuantizationRecord.encodings(plan, profile: profile, quantizer: quantizer, calibration: record)
        compression["error_profiles"] = profile.map(QuantizationRecord.errorProfiles) ?? .null
        var check: (kl: Double, source: EditCounts, quantized: EditCounts)?
        if !skipEvaluation, let set = calibrationSet, let profiler, let sourceModel, let record {
            let quantizedModel = try WhisperModel(checkpoint)
            let progress = TerminalProgress("evaluate")
            progress.update(0, 3)
            let kl = try profiler.meanKL(of: quantizedModel)
            progress.update(1, 3)
            let sourceWords = try set.wordErrors(sourceModel, options: options)
            progress.update(2, 3)
            let quantizedWords = try set.wordErrors(quantizedModel, options: options)
            progress.finish()
            check = (kl, sourceWords, quantizedWords)
            compression["evaluation"] = QuantizationRecord.evaluation(calibration: record, meanKL: kl, sourceWords: sourceWords,
                                                                      quantizedWords: quantizedWords)
        } else {
            compression["evaluation"] = .null
        }
        var manifest = checkpoint.archiveManifest ?? JSONObject()
        manifest["compression"] = .object(compression)
        checkpoint.archiveManifest = manifest
        let evaluateSeconds = clock.lap()

        var writeOptions = KDQWriteOptions(compression: compress, command: CommandLine.arguments.joined(separator: " "))
        writeOptions.conversions = conversions
        let progress = TerminalProgress("write")
        try KDQArchiveWriter.write(checkpoint, to: output, options: writeOptions) { done, total in progress.update(done, total, unit: Format.bytes) }
        progress.finish()
        let writeSeconds = clock.lap()
        report(plan, check: check, seconds: [("calibrate", referenceSeconds), ("profile", profileSeconds), ("convert", convertSeconds),
                                             ("evaluate", evaluateSeconds), ("write", writeSeconds)])
    }

    /// Bytes the manifest's record of `plan` takes (as the archive writes it, indented).
    func recordBytes(_ plan: QuantizationPlan, _ profile: SensitivityProfile?, _ quantizer: TensorQuantizer) -> Int {
        let calibration = QuantizationRecord.Calibration(manifest: calibration ?? "", utterances: 0, windows: 0, layout: "", positions: 0)
        let record: JSONValue = .object(["compression": .object([
            "encodings": QuantizationRecord.encodings(plan, profile: profile, quantizer: quantizer, calibration: calibration),
            "error_profiles": profile.map(QuantizationRecord.errorProfiles) ?? .null])])
        return record.serialized(pretty: true).utf8.count
    }

    func budget() -> SizeBudget {
        if let targetMb { return .megabytes(targetMb) }
        if let targetBpw { return .bitsPerWeight(targetBpw) }
        return .sameAsUniform(matchUniform!)
    }

    func report(_ plan: QuantizationPlan, check: (kl: Double, source: EditCounts, quantized: EditCounts)?, seconds: [(String, Double)]) {
        if outputOptions.json {
            var o: JSONObject = ["output": .string(output), "method": .string(plan.method.rawValue),
                                 "source_bytes": .number(plan.sourceBytes), "tensor_bytes": .number(plan.tensorBytes),
                                 "bits_per_weight": .number(plan.bitsPerWeight),
                                 "budget_bytes": plan.budgetBytes.map { .number($0) } ?? .null,
                                 "predicted_kl": plan.predictedKL.map { .number($0) } ?? .null,
                                 "encodings": .object(JSONObject(plan.histogram.map { ($0.encoding.rawValue, .number($0.tensors)) }))]
            o["mean_kl"] = check.map { .number($0.kl) } ?? .null
            o["source_wer"] = check.map { .number($0.source.rate) } ?? .null
            o["quantized_wer"] = check.map { .number($0.quantized.rate) } ?? .null
            o["seconds"] = .object(JSONObject(seconds.map { ($0.0, .number($0.1)) }))
            outputOptions.emit(.object(o))
            return
        }
        let mix = plan.histogram.map { "\($0.tensors) \($0.encoding.rawValue)" }.joined(separator: ", ")
        print("\(output): \(plan.method.rawValue) plan, \(Format.bytes(plan.tensorBytes)) of tensor data (\(Format.fixed(plan.bitsPerWeight, 2)) bits/weight) from \(Format.bytes(plan.sourceBytes))")
        if let b = plan.budgetBytes { print("budget \(Format.bytes(b)) (\(plan.budget!.description))") }
        print("tensors: \(mix)")
        if let check {
            print("calibration: mean KL \(Format.fixed(check.kl, 5)) nats/token; WER \(Format.fixed(100 * check.source.rate, 2))% → \(Format.fixed(100 * check.quantized.rate, 2))%")
        }
    }
}

extension Encoding: ExpressibleByArgument {}
extension CalibrationSet.Windows: ExpressibleByArgument {}

/// How the search quantizer weights a weight's error.
enum ErrorWeighting: String, ExpressibleByArgument, CaseIterable {
    case activations, none
}
