import ArgumentParser
import Foundation
import KDQDistill
import KDQEngine
import KDQFormats
import KDQJSON
import KDQQuantize

/// `kdq compress TEACHER --target-mb N --data M -o OUT.kdq`: student selection, distillation
/// through the planned encodings, guided quantization and evaluation in one command.
struct CompressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress",
        abstract: "Compress a Whisper model to a file size: a distilled, quantized student of it, every choice measured.",
        discussion: """
            For every depth of --depths, two students — the teacher's decoder blocks whose removal \
            costs least untrained (measured KL on --selection-clips clips of the data, as `kdq \
            student`) and the even choice (first, last, evenly spaced) — each train --probe-steps \
            steps of their distillation (as `kdq distill`, over the teacher's \
            frozen encoder). A depth equal to the teacher's keeps every block: the teacher itself, \
            scored without probe steps (it starts at the teacher) and fine-tuned through its \
            encodings at a tenth of --lr. The teacher's sensitivity to each encoding of each tensor, measured on \
            the calibration audio (as `kdq quantize`), is mapped onto each student and plans its \
            encodings so that the whole archive fits --target-mb. The student with the lowest \
            validation KL plus predicted quantization KL wins and trains to the end through its \
            planned encodings (quantization-aware), and is written exactly as trained — unless \
            training raised its KL from the teacher on the calibration audio above the untrained \
            student's in the same encodings, which is then written instead (--epochs 0 writes \
            it untrained). The archive \
            records the candidates and why one won, the distillation, the plan and the student's KL \
            and WER against the teacher on the calibration audio. The work directory keeps the \
            labelled clips and every candidate's checkpoints: Ctrl-C stops with a checkpoint, and the \
            same command continues where it stopped. --keep-tokens-of WORDS trims every student's \
            vocabulary to the tokens that write those words (as `kdq student`), which frees the \
            budget the unused rows of the token embedding would take. --keep pins tensors of every \
            student's plan to an encoding (as `kdq quantize`); the rest are planned around them.
            """
    )

    @Argument(help: "Teacher checkpoint (any supported format, or a .kdq).")
    var teacher: String

    @Option(name: .shortAndLong, help: "Archive to write.")
    var output: String

    @Option(help: "The archive file may take at most this many megabytes (10^6 bytes).")
    var targetMb: Double

    @Option(help: "Calibration audio with reference text (JSON Lines or TSV, as kdq eval), for the sensitivity profile and the evaluation.")
    var calibration: String

    @Option(help: "Calibration utterances: N spread evenly over the manifest.")
    var calibrationCount: Int = 8

    @Option(help: "Student decoder depths to compare, comma-separated (default: a third, half and two thirds of the teacher's, and all of them).")
    var depths: String?

    @Option(help: "Data clips the teacher transcribes to choose each student's blocks.")
    var selectionClips: Int = 16

    @OptionGroup var trimming: TokenTrimmingOptions

    @OptionGroup var pinning: PinningOptions

    @OptionGroup var candidates: CandidateOptions

    @OptionGroup var scaling: InputScalingOptions

    @Option(help: "Steps each candidate trains before they are compared.")
    var probeSteps: Int = 20

    @Flag(help: "Run the model for every encoding of every tensor when profiling (slower; default: only the narrowest, the others scaled).")
    var measureAll = false

    @Flag(help: "Move the chosen student's largest tensor's encoding a step at a time, the rest re-planned around it, and keep the plan whose whole quantized (untrained) student has the lowest mean KL from the teacher on the calibration windows. Off by default: on base at 29.9 MB the plan it chose was better untrained but trained to a worse student.")
    var refine = false

    @Option(help: "How the teacher's calibration inputs weigh each weight's quantization error: activations (each column by its input's mean square), covariance (also, in the layers the calibration audio drives with at least 2 rows per input column — the encoder's, and the decoder's from --covariance-clips — each column rounded after correcting it for the errors of the columns before it: GPTQ), none.")
    var weighting: ErrorWeighting = .activations

    @Option(help: "With --weighting covariance: training clips (spread over those the run uses, labelled by the teacher into the clip cache) whose token sequences give the decoder's layers their GPTQ covariances; 0 leaves the decoder to the calibration windows' few tokens.")
    var covarianceClips: Int = 512

    @Option(help: "Audio that gives the encoder's layers their GPTQ covariances: calibration (the calibration utterances) or clips (those and the --covariance-clips training clips, encoded again).")
    var encoderCovariances: EncoderCovarianceSource = .calibration

    @OptionGroup var dataOptions: TrainingDataOptions

    @OptionGroup var training: TrainingOptions

    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        guard targetMb > 0 else { throw ValidationError("--target-mb must be positive") }
        guard covarianceClips >= 0 else { throw ValidationError("--covariance-clips must be 0 or more, got \(covarianceClips)") }
        if encoderCovariances == .clips && (weighting != .covariance || covarianceClips == 0) {
            throw ValidationError("--encoder-covariances clips needs --weighting covariance and --covariance-clips of 1 or more")
        }
        guard selectionClips >= 1, probeSteps >= 1, calibrationCount >= 1, dataOptions.validation >= 1 else {
            throw ValidationError("--selection-clips, --probe-steps, --calibration-count and --validation must be at least 1")
        }
        _ = try depthList()
    }

    func depthList() throws -> [Int]? {
        guard let depths else { return nil }
        let list = depths.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !list.isEmpty, list.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("--depths takes decoder depths of 1 or more, comma-separated, not '\(depths)'")
        }
        return list.map { $0! }
    }

    func run() throws {
        let layers = try Checkpoint.open(teacher).dims.nTextLayer
        var request = CompressionJob.Request(teacher: teacher, data: dataOptions.data, calibration: calibration, targetMegabytes: targetMb,
                                             depths: try depthList() ?? CompressionJob.defaultDepths(layers), workDirectory: dataOptions.workDir ?? output + ".work")
        request.clips = dataOptions.clips
        request.selectionClips = selectionClips
        request.wordLists = trimming.keepTokensOf
        request.probeSteps = probeSteps
        request.settings = training.settings
        request.calibrationCount = calibrationCount
        request.measureAll = measureAll
        request.refine = refine
        request.weighting = weighting
        request.covarianceClips = covarianceClips
        request.encoderCovariances = encoderCovariances
        request.rules = try pinning.rules()
        request.encodings = try candidates.encodings()
        request.inputScaling = try scaling.encoding()
        request.options.language = dataOptions.language
        request.writeOptions = KDQWriteOptions(command: CommandLine.arguments.joined(separator: " "))
        StopRequest.install()
        let phases = PhasedProgress()
        let stop = { StopRequest.requested }
        guard let result = try CompressionJob(request).run(progress: { phases.update($0, $1, $2) }, shouldStop: stop) else {
            phases.finish()
            FileHandle.standardError.write("stopped; the checkpoints are in \(request.workDirectory) (run the same command to continue)\n".data(using: .utf8)!)
            throw ExitCode(130)
        }
        phases.finish()
        let progress = TerminalProgress("write")
        try KDQArchiveWriter.write(result.checkpoint, to: output, options: result.writeOptions) { done, total in progress.update(done, total, unit: Format.bytes) }
        progress.finish()
        report(result)
    }

    func report(_ result: CompressionJob.Result) {
        let check = result.check
        if outputOptions.json {
            outputOptions.emit(.object([
                "output": .string(output), "archive_bytes": .number(result.archiveBytes), "target_bytes": .number(Int(targetMb * 1_000_000)),
                "candidates": .array(result.candidates.map(\.json)), "chosen": .number(result.chosen),
                "unreachable": .array(result.unreachable.map(\.json)),
                "decoder_layers": .array(result.candidates[result.chosen].decoderLayers.map { .number($0) }),
                "bits_per_weight": .number(result.plan.bitsPerWeight),
                "student_encoder_outputs": result.encoderOutputs.map { .string($0.rawValue) } ?? .null,
                "encodings": .object(JSONObject(result.plan.histogram.map { ($0.encoding.rawValue, .number($0.tensors)) })),
                "steps": .number(result.steps), "training_seconds": .number(result.trainingSeconds),
                "outcome": result.outcome.json,
                "mean_kl": .number(check.meanKL), "teacher_wer": .number(check.sourceWords.rate), "student_wer": .number(check.quantizedWords.rate),
                "seconds": .object(JSONObject(result.seconds.map { ($0.phase, .number($0.seconds)) })),
            ]))
            return
        }
        print("candidates (validation KL after their probe steps + predicted quantization KL at \(Format.bytes(Int(targetMb * 1_000_000)))):")
        var table = TextTable(["", "blocks", "choice", "pruned KL", "probe steps", "probe KL", "quant KL", "score", "bits/w"], rightAligned: [3, 4, 5, 6, 7, 8])
        for (k, c) in result.candidates.enumerated() {
            table.add([k == result.chosen ? "*" : "", c.decoderLayers.map(String.init).joined(separator: ","), c.selection.rawValue, c.prunedKL.map { Format.fixed($0, 3) } ?? "-",
                       String(c.probeSteps), Format.fixed(c.probeKL, 3), Format.fixed(c.quantizationKL, 3), Format.fixed(c.score, 3), Format.fixed(c.bitsPerWeight, 2)])
        }
        print(table.render())
        for u in result.unreachable { print("\(u.depth) decoder blocks left out: \(u.reason)") }
        let mix = result.plan.histogram.map { "\($0.tensors) \($0.encoding.rawValue)" }.joined(separator: ", ")
        print("\(output): \(Format.bytes(result.archiveBytes)) (\(Format.fixed(result.plan.bitsPerWeight, 2)) bits/weight: \(mix)), \(result.steps) steps in \(Format.fixed(result.trainingSeconds, 0)) s"
              + (result.encoderOutputs?.trainingNote ?? ""))
        if result.outcome.kept == .start { print(result.outcome.summary) }
        print("calibration: KL from the teacher \(Format.fixed(check.meanKL, 4)) nats/token; WER teacher \(Format.fixed(100 * check.sourceWords.rate, 2))%, student \(Format.fixed(100 * check.quantizedWords.rate, 2))%")
    }
}
