import ArgumentParser
import Foundation
import KDQDistill
import KDQEngine
import KDQFormats
import KDQJSON
import KDQTrain

/// `kdq distill TEACHER STUDENT --data MANIFEST -o OUT.kdq`: train a student's decoder on the
/// teacher's outputs over the teacher's frozen encoder.
struct DistillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Distill a teacher Whisper into a student (e.g. from `kdq student`): the student's decoder learns the teacher's next-token distributions.",
        discussion: """
            Each clip of the manifest (JSON Lines: id, audio, optional text) becomes one padded \
            30-second window. Its label is the reference text where the manifest has one (dropped \
            when the teacher's transcript differs from it by more than --max-reference-wer), else the \
            teacher's greedy transcript (dropped when it never ends or is empty). The teacher's encoder \
            output and the label of every clip are cached in the work directory, so later epochs and \
            runs reuse them. Objective: (1 − α)·CE + α·(T²·KL + β·hidden), the hidden term matching \
            each student block to the teacher block it was copied from (or, with --matching \
            dynamic, to the closest one, re-chosen every step). AdamW with warm-up and cosine \
            decay; --validation clips are held back, their KL measured after every epoch; training \
            stops early when it stops improving and the best weights are kept. A checkpoint is written \
            every --checkpoint-every steps; Ctrl-C stops after the current step with a checkpoint, and \
            --resume continues from it to the same weights. The archive records the teacher's hash, \
            the layer map, settings, loss curves and the manifest's hash (compression.layer_map).
            """
    )

    @Argument(help: "Teacher checkpoint.")
    var teacher: String

    @Argument(help: "Student checkpoint (for example from `kdq student`), same tokenizer and encoder as the teacher.")
    var student: String

    @Option(name: .shortAndLong, help: "Archive to write (not with --export-recipe).")
    var output: String?

    @OptionGroup var dataOptions: TrainingDataOptions

    @OptionGroup var training: TrainingOptions

    @Option(help: "Quantization-aware training: a quantized archive of the student (e.g. `kdq quantize` of it) whose decoder encodings the student trains through and is written in.")
    var plan: String?

    @Option(help: "Instead of training here, write the run for transformers + accelerate into this directory: teacher and student in Hugging Face format, the labelled clips, recipe.json (objective, schedule, clip order, layer maps, QAT encodings, kdq's first-batch loss) and train_student.py.")
    var exportRecipe: String?

    @Flag(help: "Continue from the work directory's checkpoint.")
    var resume = false

    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        guard (output == nil) != (exportRecipe == nil) else { throw ValidationError("give -o OUTPUT to train here, or --export-recipe DIR, not both") }
        guard training.epochs >= 1 else { throw ValidationError("--epochs must be at least 1 for kdq distill, got \(training.epochs)") }
    }

    func run() throws {
        var request = DistillationJob.Request(teacher: teacher, student: student, data: dataOptions.data,
                                              workDirectory: dataOptions.workDir ?? (output ?? exportRecipe ?? "") + ".work")
        request.clips = dataOptions.clips
        request.plan = plan
        request.options.language = dataOptions.language
        request.settings = training.settings
        let job = try DistillationJob(request)
        let phases = PhasedProgress()
        try job.prepare(progress: { phases.update("label", $0, $1) }, encoding: { phases.update("encode", $0, $1) })
        phases.finish()
        let loop = job.loop!
        guard let output else {
            let exportRecipe = exportRecipe ?? ""
            try RecipeExport.write(job, to: exportRecipe)
            if outputOptions.json {
                outputOptions.emit(.object(["recipe": .string(exportRecipe), "training_clips": .number(loop.trainIDs.count),
                                            "validation_clips": .number(loop.validationIDs.count), "steps": .number(loop.totalSteps)]))
            } else {
                print("\(exportRecipe): recipe for \(loop.trainIDs.count) training and \(loop.validationIDs.count) validation clips, \(loop.totalSteps) steps; run python3 \(exportRecipe)/train_student.py (or accelerate launch), then kdq import \(exportRecipe)/trained")
            }
            return
        }
        StopRequest.install()
        let started = Date()
        let training = TrainingProgress(total: loop.totalSteps)
        let finished = try loop.run(resume: resume, shouldStop: { StopRequest.requested }) { step, total, r in
            training.update(step: step, report: r, seconds: Date().timeIntervalSince(started))
        }
        training.finish()
        guard finished else {
            FileHandle.standardError.write("stopped at step \(loop.step) of \(loop.totalSteps); the checkpoint is in \(loop.checkpointPath) (continue with --resume)\n".data(using: .utf8)!)
            throw ExitCode(130)
        }
        let seconds = loop.seconds
        let result = try job.result()
        try KDQArchiveWriter.write(result, to: output, options: KDQWriteOptions(command: CommandLine.arguments.joined(separator: " ")))
        let last = loop.validationCurve.last
        if outputOptions.json {
            outputOptions.emit(.object(["output": .string(output), "steps": .number(loop.step), "seconds": .number(seconds),
                                        "dropped_clips": .number(job.dropped.count),
                                        "student_encoder_outputs": .string(job.encoderOutputs.rawValue),
                                        "validation_kl": last.map { .number($0.loss.kl) } ?? .null,
                                        "validation_wer": last?.wer.map { .number($0) } ?? .null,
                                        "training_loss": loop.trainingCurve.last.map { .number($0.loss.total) } ?? .null]))
            return
        }
        print("\(output): \(loop.step) steps in \(Format.fixed(seconds, 0)) s, \(job.dropped.count) clips dropped" + job.encoderOutputs.trainingNote
              + (last.map { ", validation KL \(Format.fixed($0.loss.kl, 4))" + ($0.wer.map { ", WER \(Format.fixed(100 * $0, 1))%" } ?? "") + " after epoch \($0.epoch + 1)" } ?? ""))
    }
}

extension DistillationJob.EncoderOutputs {
    /// How a training summary line says what the student's decoder read ("" for the teacher's encoder).
    var trainingNote: String {
        switch self {
        case .teacher: ""
        case .own: ", on its own encoder's outputs"
        case .trained: ", its encoder trained with it"
        }
    }
}

/// Ctrl-C or SIGTERM. Once training has started (it asks `requested` after every step): finish
/// the step, write a checkpoint, stop. Before that — labelling, whose clips are cached one at a
/// time, or profiling, which writes nothing until it is done — and at a second signal: stop at
/// once, as the signal's default does (outputs are only ever renamed into place complete).
enum StopRequest {
    nonisolated(unsafe) static var flag: sig_atomic_t = 0
    nonisolated(unsafe) static var honoured: sig_atomic_t = 0
    /// Whether a stop was requested; asking means the caller honours one from now on.
    static var requested: Bool {
        honoured = 1
        return flag != 0
    }
    static func install() {
        unblockStopSignals()
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { sig in
                if StopRequest.honoured != 0 && StopRequest.flag == 0 {
                    StopRequest.flag = 1
                    return
                }
                signal(sig, SIG_DFL)
                raise(sig)
            }
        }
    }
}

/// Step, loss, tokens per second and time left, on a terminal.
final class TrainingProgress {
    let total: Int
    let bar = TerminalProgress("train")
    var tokens = 0

    init(total: Int) { self.total = total }

    func update(step: Int, report: DistillationTrainer.StepReport, seconds: Double) {
        tokens += report.loss.positions
        let rate = seconds > 0 ? Double(tokens) / seconds : 0
        let eta = step > 0 ? seconds / Double(step) * Double(total - step) : 0
        bar.update(step, total, detail: "loss \(Format.fixed(report.loss.total, 3))  \(Format.fixed(rate, 0)) tokens/s  ETA \(Format.fixed(eta / 60, 1)) min")
    }

    func finish() { bar.finish() }
}
