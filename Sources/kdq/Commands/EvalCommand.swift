import ArgumentParser
import KDQAnalysis
import KDQEngine
import KDQFormats
import KDQQuantize
import KDQJSON

/// `kdq eval --manifest M --model A [--model B …]`.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "WER and CER of one or more models on a set of recordings, side by side.",
        discussion: """
            The manifest is JSON Lines with id, audio (relative to the manifest) and text, or a TSV \
            with those columns. Both sides are normalized with Whisper's English normalizer unless \
            --no-normalize. WER and CER are corpus-level (errors summed over the set), with a 95% \
            bootstrap interval for WER. With --out, per-utterance results are written as JSON Lines, \
            and a run that was interrupted resumes from that file.
            """
    )

    @Option(help: "Manifest (.jsonl, or .tsv with a header).") var manifest: String
    @Option(name: .customLong("model"), help: "A model to evaluate (checkpoint or .kdq); repeatable.") var models: [String]
    @Option(help: "Per-utterance results (JSON Lines); resumes from it when it exists.") var out: String?
    @Flag(help: "Score raw text, without Whisper's English normalizer.") var noNormalize = false
    @Option(help: "Only the first N utterances.") var limit: Int?
    @Option(help: "Language code (multilingual models; default en).") var language: String?
    @Option(help: "Beam size; 1 decodes greedily.") var beam: Int = 1
    @Flag(help: "Also measure each model's mean next-token KL divergence from the first model, teacher-forcing the first model's transcript of each clip (of at most 30 s) on the model's own encoder output.")
    var kl = false
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("give at least one --model") }
        guard beam >= 1 && beam <= 16 else { throw ValidationError("--beam must be between 1 and 16") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if kl && models.count < 2 { throw ValidationError("--kl compares models with the first; give at least two --model") }
        if kl && out != nil { throw ValidationError("--kl needs every model's encoder pass, so it does not resume from --out; drop one of them") }
    }

    func run() throws {
        let set = try EvalManifest(path: manifest)
        let utterances = Array(set.utterances.prefix(limit ?? set.utterances.count))
        let normalize = !noNormalize
        var results: [UtteranceResult] = []
        var file: ResultsFile?
        if let out { (file, results) = try ResultsFile.open(out, normalize: normalize) }
        var options = DecodingOptions()
        options.language = language
        options.beamSize = beam
        var sizes: [(name: String, bytes: Int)] = []
        let meter = kl ? DivergenceMeter(options: options) : nil
        for path in models {
            let checkpoint = try Checkpoint.open(path)
            sizes.append((path, checkpoint.provenance.size))
            let done = Set(results.filter { $0.model == path }.map(\.id))
            let todo = utterances.filter { !done.contains($0.id) }
            guard !todo.isEmpty else { continue }
            let transcriber = Transcriber(model: try WhisperModel(checkpoint), options: options)
            let progress = TerminalProgress("eval \(path.split(separator: "/").last.map(String.init) ?? path)")
            for (i, u) in todo.enumerated() {
                let clock = Stopwatch()
                let samples = try AudioLoader.load(u.audio)
                var firstWindow: [Float] = []
                let text = try transcriber.transcribe(samples) { seek, output in if seek == 0 { firstWindow = output } }.text
                if let meter, samples.count <= LogMelSpectrogram.windowSamples {
                    if path == models[0] {
                        try meter.addReference(id: u.id, model: transcriber.model, encoderOutput: firstWindow, text: text)
                    } else {
                        try meter.add(id: u.id, name: path, model: transcriber.model, encoderOutput: firstWindow)
                    }
                }
                let r = UtteranceResult(model: path, id: u.id, reference: u.text, hypothesis: text, normalize: normalize,
                                        seconds: clock.lap(), audioSeconds: Double(samples.count) / 16000)
                results.append(r)
                try file?.append(r)
                progress.update(done.count + i + 1, utterances.count)
            }
            progress.finish()
        }
        let ids = Set(utterances.map(\.id))
        var summary = EvaluationSummary(results: results.filter { ids.contains($0.id) && models.contains($0.model) }, models: sizes)
        if let meter { summary.meanKL = meter.meanKL.merging([models[0]: 0]) { a, _ in a } }
        if output.json { output.emit(summary.json) } else { print(render(summary)) }
    }

    private func render(_ s: EvaluationSummary) -> String {
        let withKL = !s.meanKL.isEmpty
        var table = TextTable(["model", "utterances", "WER %", "95% CI", "CER %", "S", "D", "I", "RTF", "model bytes"] + (withKL ? ["KL"] : []),
                              rightAligned: Set(1..<11))
        for r in s.rows {
            table.add([r.model, String(r.utterances), Format.fixed(100 * r.score.wer, 2),
                       "\(Format.fixed(100 * r.score.werInterval.low, 2))–\(Format.fixed(100 * r.score.werInterval.high, 2))",
                       Format.fixed(100 * r.score.cer, 2), String(r.score.words.substitutions), String(r.score.words.deletions),
                       String(r.score.words.insertions), Format.fixed(r.realTimeFactor, 3), Format.bytes(r.modelBytes)]
                      + (withKL ? [s.meanKL[r.model].map { Format.fixed($0, 5) } ?? "–"] : []))
        }
        var lines = [table.render()]
        if !s.disagreements.isEmpty {
            lines.append("")
            lines.append(s.rows.count > 1 ? "where the models disagree most:" : "utterances with the most errors:")
            for d in s.disagreements {
                lines.append("  \(d.id): \(d.reference)")
                for h in d.hypotheses { lines.append("    \(h.errors) errors  \(h.model): \(h.text)") }
            }
        }
        return lines.joined(separator: "\n")
    }
}
