import ArgumentParser
import Foundation
import KDQCompare
import KDQEngine
import KDQJSON

/// `kdq compare TEACHER STUDENT --audio M`: the two models on the same clips.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare a student with its teacher on audio: next-token KL and agreement, per-block errors, transcripts, shared tensors.",
        discussion: """
            Works for any pair with the same vocabulary: a teacher and its distilled or pruned student, \
            a model and its quantization, two exports of one model. Each model transcribes every clip \
            (WER and CER when the manifest has text). On clips of at most 30 s the teacher's \
            transcript is teacher-forced through both models, each on its own encoder output (as \
            `kdq eval --kl`): the mean next-token KL over every position, the share of positions \
            where both rank the same token first, the KL by position and the positions of largest \
            KL with their tokens. Each student block's residual stream is compared with the teacher \
            block it was copied from (as the student records it), the same block when the depths are \
            equal, or else the best increasing match; relative error and cosine, summed over the \
            clips, and for decoder blocks the Jensen–Shannon divergence of their cross-attention \
            over the audio (averaged over heads) per transcript position. The tensors the two share are diffed, student blocks under their teacher block's \
            name. --json prints the report as formats/compare.schema.json describes it.
            """
    )

    @Argument(help: "Teacher (or reference) checkpoint.")
    var teacher: String

    @Argument(help: "Student (or candidate) checkpoint with the same vocabulary.")
    var student: String

    @Option(help: "Audio: JSON Lines with id, audio and optionally text.")
    var audio: String

    @OptionGroup var comparison: ComparisonOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let request = comparison.request(teacher: teacher, student: student, manifest: audio)
        let progress = TerminalProgress("compare")
        let report = try ModelComparison(request).run { progress.update($0, $1) }
        progress.finish()
        if output.json { output.emit(report.json) } else { print(render(report)) }
    }

    func render(_ r: ComparisonReport) -> String {
        var lines: [String] = []
        func describe(_ m: ComparisonReport.Model) -> String {
            "\(m.path) (\(m.encoderLayers) encoder + \(m.decoderLayers) decoder blocks, \(Format.bytes(m.tensorBytes)) of tensors)"
        }
        lines.append("teacher: " + describe(r.teacher))
        lines.append("student: " + describe(r.student))
        let t = r.tokens
        lines.append("\(r.clips) clip\(r.clips == 1 ? "" : "s"), \(r.scoredClips) teacher-forced: mean KL \(Format.fixed(t.meanKL, 5)) nats over all \(t.rows) positions "
                     + "(as kdq eval --kl), \(Format.fixed(t.transcriptKL, 5)) over the \(t.predicted) that predict the transcript; "
                     + "top-1 agreement there \(Format.fixed(100 * t.top1Agreement, 1))%")
        if let tw = r.teacher.words, let sw = r.student.words, let tc = r.teacher.characters, let sc = r.student.characters {
            lines.append("WER teacher \(Format.fixed(100 * tw.rate, 2))%, student \(Format.fixed(100 * sw.rate, 2))%; "
                         + "CER teacher \(Format.fixed(100 * tc.rate, 2))%, student \(Format.fixed(100 * sc.rate, 2))%")
        }
        for (title, matches) in [("encoder", r.encoder), ("decoder", r.decoder)] {
            guard let matches, !matches.isEmpty else {
                lines.append("\n\(title) blocks: widths differ, not compared")
                continue
            }
            lines.append("\n\(title) blocks (residual stream after each block; teacher block: \(matches[0].source.rawValue.replacingOccurrences(of: "_", with: " "))):")
            let top = matches.map(\.metrics.relativeError).filter(\.isFinite).max() ?? 0
            let attention = matches.contains { $0.attentionDivergence != nil }
            var table = TextTable(["student", "teacher", "rel. error", "cosine"] + (attention ? ["attention JS"] : []) + [""],
                                  rightAligned: attention ? [0, 1, 2, 3, 4] : [0, 1, 2, 3])
            for m in matches {
                table.add([String(m.student), String(m.teacher), Format.fixed(m.metrics.relativeError, 4), Format.fixed(m.metrics.cosine, 4)]
                          + (attention ? [m.attentionDivergence.map { Format.fixed($0, 4) } ?? "–"] : [])
                          + [Format.bar(m.metrics.relativeError, of: top)])
            }
            lines.append(table.render())
        }
        if !r.strays.isEmpty {
            lines.append("\npositions of largest KL:")
            var table = TextTable(["clip", "position", "KL", "expected", "teacher", "student"], rightAligned: [1, 2])
            for s in r.strays {
                table.add([s.position.clip, String(s.position.index), Format.fixed(s.position.kl, 3), quoted(s.expected), quoted(s.teacherTop), quoted(s.studentTop)])
            }
            lines.append(table.render())
        }
        let d = r.tensors.diff
        let identical = d.tensors.filter { $0.metrics?.isExact == true }.count
        lines.append("\ntensors: \(d.tensors.count) compared (\(identical) identical), relative error \(Format.fixed(d.overall.relativeError, 5))"
                     + (d.onlyInA.isEmpty ? "" : "; \(d.onlyInA.count) only in the teacher") + (d.onlyInB.isEmpty ? "" : "; \(d.onlyInB.count) only in the student"))
        return lines.joined(separator: "\n")
    }

    func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\n", with: "\\n") + "\"" }
}
