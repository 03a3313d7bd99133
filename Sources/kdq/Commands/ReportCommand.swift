import ArgumentParser
import KDQCompare
import KDQFormats
import KDQReport

/// `kdq report ARCHIVE -o report.html`: one self-contained HTML page about an archive.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one self-contained HTML page about a model: sizes, plan, distillation, and how it compares with its teacher.",
        discussion: """
            The page has inline SVG charts and CSS only (no scripts, nothing fetched) and prints \
            well. It shows the size by encoding and by layer; for a .kdq archive its quantization \
            plan (every tensor's measured alternatives, the size/KL trade-off curve and where the \
            budget cut, the KL each layer adds) and its distillation record (how the student was \
            chosen, loss curves, layer maps); with --teacher and --audio, `kdq compare` of the \
            teacher against it (per-block errors, cross-attention divergence, KL by position, WER \
            and CER); and the evaluation table.
            """
    )

    @Argument(help: "The model to report on (a .kdq archive, or any checkpoint for its sizes).")
    var archive: String

    @Option(name: .shortAndLong, help: "The HTML file to write.")
    var output: String

    @Option(help: "The teacher (or source) to compare with; needs --audio.")
    var teacher: String?

    @Option(help: "Audio for the comparison: JSON Lines with id, audio and optionally text.")
    var audio: String?

    @OptionGroup var comparisonOptions: ComparisonOptions

    func validate() throws {
        guard (teacher == nil) == (audio == nil) else { throw ValidationError("--teacher and --audio go together: the comparison runs both models on the audio") }
    }

    func run() throws {
        let checkpoint = try Checkpoint.open(archive)
        var comparison: ComparisonReport?
        if let teacher, let audio {
            let request = comparisonOptions.request(teacher: teacher, student: archive, manifest: audio)
            let progress = TerminalProgress("compare")
            comparison = try ModelComparison(request).run { progress.update($0, $1) }
            progress.finish()
        }
        let page = ReportPage.html(try ArchiveReport(checkpoint: checkpoint, comparison: comparison))
        try AtomicOutput.write(page, to: output)
        print("\(output): \(Format.bytes(page.utf8.count))")
    }
}
