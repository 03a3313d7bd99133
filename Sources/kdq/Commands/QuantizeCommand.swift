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

    @Option(help: "Quantize uniformly, as whisper.cpp does, to this ggml type (q8_0, q6_K, q5_1, q5_K, q5_0, q4_1, q4_K, q4_0, q3_K, q2_K).")
    var uniform: Encoding?

    @Option(help: "Guided: the archive file (uncompressed, record included) may take at most this many megabytes (10^6 bytes).")
    var targetMb: Double?

    @Option(help: "Guided: at most this many bits per weight over all tensors.")
    var targetBpw: Double?

    @Option(help: "Guided: the size whisper.cpp's uniform quantization to this type gives (e.g. q4_0).")
    var matchUniform: Encoding?

    @OptionGroup var pinning: PinningOptions

    @Option(help: "Calibration manifest (JSON Lines or TSV, as kdq eval); required for guided plans.")
    var calibration: String?

    @Option(help: "Calibration utterances: N spread evenly over the manifest.")
    var calibrationCount: Int = 32

    @Option(help: "Calibration windows: packed (clips end to end in 30-second windows) or single (one clip per window, padded with silence, as short clips are transcribed).")
    var calibrationWindows: CalibrationSet.Windows = .packed

    @OptionGroup var candidates: CandidateOptions

    @OptionGroup var scaling: InputScalingOptions

    @Flag(inversion: .prefixedNo,
          help: "Run the model for every candidate of every tensor, or (--no-measure-all) only for the narrowest, the others' KL scaled from it by their squared weight error (about five times faster, less exact).")
    var measureAll = true

    @Flag(inversion: .prefixedNo,
          help: "Guided: move the largest tensor's encoding a step at a time, the rest re-planned around it, and keep the plan whose whole quantized model has the lowest mean KL on the calibration windows (--no-refine: the allocator's plan as it is).")
    var refine = true

    @Option(help: "Guided: reuse the sensitivities measured for this guided .kdq archive (same source, calibration and quantizer options), running the model only for what it lacks; to plan again at another budget.")
    var profileFrom: String?

    @Option(help: "How ggml blocks are encoded: nearest (whisper.cpp's rounding, byte-identical) or search (error-minimizing; same layout). Default: search for guided plans, nearest for uniform.")
    var quantizer: BlockQuantizer?

    @Option(help: "With the search quantizer and calibration audio: weight each column's error by the mean square of the layer's input on the calibration windows (activations), also round each column after correcting it for the errors of the columns before it through the inputs' covariance, in the layers the calibration audio drives with at least 2 rows per input column — the encoder's, and the decoder's from --covariance-data (covariance: GPTQ) — or neither (none).")
    var weighting: ErrorWeighting = .activations

    @Option(help: "With --weighting covariance: audio (a manifest as --calibration; text optional, the source model's transcript stands in) whose token sequences give the decoder's layers their GPTQ covariances — the calibration windows give them too few tokens. Keep it apart from the audio you evaluate on.")
    var covarianceData: String?

    @Option(help: "Clips of --covariance-data used, spread over it.")
    var covarianceClips: Int = 512

    @Option(help: "Audio that gives the encoder's layers their GPTQ covariances: calibration (the calibration utterances) or clips (those and the --covariance-data clips, encoded again).")
    var encoderCovariances: EncoderCovarianceSource = .calibration

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
            guard uniform.isGGMLBlock else { throw ValidationError("--uniform takes a ggml block type, not \(uniform.rawValue)") }
            guard budgets == 0 else { throw ValidationError("--uniform takes no size budget") }
            guard profileFrom == nil else { throw ValidationError("--uniform measures nothing; --profile-from is for guided plans") }
        } else {
            guard budgets == 1 else { throw ValidationError("give exactly one of --target-mb, --target-bpw, --match-uniform (or --uniform)") }
            guard calibration != nil else { throw ValidationError("a guided plan needs --calibration MANIFEST") }
        }
        if let matchUniform, !matchUniform.isGGMLBlock { throw ValidationError("--match-uniform takes a ggml block type") }
        if let targetMb, !(targetMb > 0) { throw ValidationError("--target-mb must be positive") }
        if let targetBpw, !(targetBpw > 0) { throw ValidationError("--target-bpw must be positive") }
        guard calibrationCount >= 1 else { throw ValidationError("--calibration-count must be at least 1") }
        guard covarianceClips >= 1 else { throw ValidationError("--covariance-clips must be at least 1, got \(covarianceClips)") }
        if covarianceData != nil && weighting != .covariance {
            throw ValidationError("--covariance-data is for --weighting covariance (GPTQ), not \(weighting.rawValue)")
        }
        if encoderCovariances == .clips && covarianceData == nil {
            throw ValidationError("--encoder-covariances clips needs --covariance-data")
        }
        if scaling.inputScaling != nil && calibration == nil { throw ValidationError("--input-scaling needs --calibration MANIFEST") }
    }

    func run() throws {
        let checkpoint = try Checkpoint.open(source)
        var request = QuantizationJob.Request(method: uniform.map { .uniform($0) } ?? .guided(budget()))
        request.rules = try pinning.rules()
        request.blocks = quantizer
        request.weighting = weighting
        request.covarianceData = covarianceData
        request.covarianceClips = covarianceClips
        request.encoderCovariances = encoderCovariances
        request.calibration = calibration
        request.calibrationCount = calibrationCount
        request.calibrationWindows = calibrationWindows
        request.candidates = try candidates.encodings()
        request.inputScaling = try scaling.encoding()
        request.measureAll = measureAll
        request.refine = refine
        request.profileFrom = profileFrom
        request.options.language = language
        request.evaluate = !skipEvaluation
        request.writeOptions = KDQWriteOptions(compression: compress, command: CommandLine.arguments.joined(separator: " "))
        let phases = PhasedProgress()
        let result = try QuantizationJob(request).run(checkpoint) { phases.update($0, $1, $2) }
        phases.finish()
        let clock = Stopwatch()
        let progress = TerminalProgress("write")
        try KDQArchiveWriter.write(result.checkpoint, to: output, options: result.writeOptions) { done, total in progress.update(done, total, unit: Format.bytes) }
        progress.finish()
        report(result, seconds: result.seconds + [("write", clock.lap())])
    }

    func budget() -> SizeBudget {
        if let targetMb { return .megabytes(targetMb) }
        if let targetBpw { return .bitsPerWeight(targetBpw) }
        return .sameAsUniform(matchUniform!)
    }

    func report(_ result: QuantizationJob.Result, seconds: [(phase: String, seconds: Double)]) {
        let plan = result.plan, check = result.check
        if outputOptions.json {
            var o: JSONObject = ["output": .string(output), "method": .string(plan.method.rawValue),
                                 "source_bytes": .number(plan.sourceBytes), "tensor_bytes": .number(plan.tensorBytes),
                                 "archive_bytes": .number(result.archiveBytes),
                                 "bits_per_weight": .number(plan.bitsPerWeight),
                                 "budget_bytes": plan.budgetBytes.map { .number($0) } ?? .null,
                                 "predicted_kl": plan.predictedKL.map { .number($0) } ?? .null,
                                 "encodings": .object(JSONObject(plan.histogram.map { ($0.encoding.rawValue, .number($0.tensors)) }))]
            o["mean_kl"] = check.map { .number($0.meanKL) } ?? .null
            o["source_wer"] = check.map { .number($0.sourceWords.rate) } ?? .null
            o["quantized_wer"] = check.map { .number($0.quantizedWords.rate) } ?? .null
            o["seconds"] = .object(JSONObject(seconds.map { ($0.0, .number($0.1)) }))
            outputOptions.emit(.object(o))
            return
        }
        let mix = plan.histogram.map { "\($0.tensors) \($0.encoding.rawValue)" }.joined(separator: ", ")
        print("\(output): \(plan.method.rawValue) plan, \(Format.bytes(plan.tensorBytes)) of tensor data (\(Format.fixed(plan.bitsPerWeight, 2)) bits/weight) from \(Format.bytes(plan.sourceBytes))")
        if let b = plan.budgetBytes { print("budget \(Format.bytes(b)) of tensor data (\(plan.budget!.description)); the archive takes \(Format.bytes(result.archiveBytes))") }
        print("tensors: \(mix)")
        if let check {
            print("calibration: mean KL \(Format.fixed(check.meanKL, 5)) nats/token; WER \(Format.fixed(100 * check.sourceWords.rate, 2))% → \(Format.fixed(100 * check.quantizedWords.rate, 2))%")
        }
    }
}

extension Encoding: ExpressibleByArgument {}
extension CalibrationSet.Windows: ExpressibleByArgument {}

extension ErrorWeighting: ExpressibleByArgument {}
extension EncoderCovarianceSource: ExpressibleByArgument {}
