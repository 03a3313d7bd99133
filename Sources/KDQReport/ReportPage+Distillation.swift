import Foundation
import KDQDistill

extension ReportPage {
    /// The distillation record: settings, loss curves, layer maps.
    static func distillation(_ d: DistillationRecord) -> String {
        var items = ["teacher \(d.teacherPath) (\(d.teacherDecoderLayers) decoder blocks)",
                     "\(d.steps) steps in \(number(d.seconds / 60, 1)) min, \(number(d.tokensPerSecond, 1)) tokens/s",
                     "\(d.trainingClips) training clips, \(d.validationClips) held back for validation"]
        if d.quantizationAware { items.append("trained through its planned encodings (quantization-aware)") }
        if let s = d.selection { items.append("student keeps teacher decoder blocks \(s.decoderLayers.map(String.init).joined(separator: ", ")) (\(s.method.rawValue) choice)") }
        var html = "<section id=\"distillation\"><h2>Distillation</h2><ul>" + items.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>"
        if !d.trainingCurve.isEmpty {
            var series: [LineChart.Series] = [
                .init(name: "training KL", color: Palette.blue, points: d.trainingCurve.map { (Double($0.step), $0.loss.kl) }),
                .init(name: "training CE", color: Palette.orange, points: d.trainingCurve.map { (Double($0.step), $0.loss.crossEntropy) }, dashed: true),
            ]
            if d.trainingCurve.contains(where: { $0.loss.hidden > 0 }) {
                series.append(.init(name: "hidden-state loss", color: Palette.purple, points: d.trainingCurve.map { (Double($0.step), $0.loss.hidden) }))
            }
            if !d.validationCurve.isEmpty {
                series.append(.init(name: "validation KL", color: Palette.vermillion, points: d.validationCurve.map { (Double($0.step), $0.loss.kl) }, markers: true))
            }
            var chart = LineChart(title: "Loss curves", xLabel: "optimizer step", yLabel: "loss (nats per position, log)", series: series)
            chart.yLogarithmic = true
            html += figure(chart.svg, "Training losses (means over spans of steps) and the validation KL from the teacher after each epoch.")
        }
        if let s = d.selection { html += selectionTable(s) }
        if !d.hiddenLayerMap.isEmpty {
            html += "<h3>Hidden-state layer map</h3>" + HTML.table(["student block", "learns from teacher block"],
                d.hiddenLayerMap.sorted { $0.key < $1.key }.map { [String($0.key), String($0.value)] }, numeric: [0, 1])
            if d.hiddenLayerMapHistory.count > 1 {
                html += HTML.table(["from step", "map (student→teacher)"], d.hiddenLayerMapHistory.map { h in
                    [String(h.step), h.map.sorted { $0.key < $1.key }.map { "\($0.key)→\($0.value)" }.joined(separator: ", ")]
                }, numeric: [0], caption: "How the map moved during training.")
            }
        }
        return html + "</section>"
    }

    /// How `kdq compress` chose the student: every candidate's scores, and whether training was kept.
    static func depthChoice(_ choice: DistillationRecord.DepthChoice) -> String {
        var html = "<section id=\"student-choice\"><h2>How the student was chosen</h2>" + HTML.table(
            ["", "teacher blocks kept", "choice", "pruned KL", "probe steps", "probe KL", "quantization KL", "score", "bits/weight"],
            choice.candidates.enumerated().map { k, c in
                [k == choice.chosen ? "chosen" : "", c.decoderLayers.map(String.init).joined(separator: ", "), c.selection.rawValue,
                 c.prunedKL.map { number($0) } ?? "–", String(c.probeSteps), number(c.probeKL), number(c.quantizationKL), number(c.score), number(c.bitsPerWeight, 2)]
            }, numeric: [3, 4, 5, 6, 7, 8], caption: choice.rule)
        if let o = choice.outcome {
            html += "<p>\(HTML.escape(o.summary.prefix(1).uppercased() + o.summary.dropFirst())).</p>"
        }
        if !choice.unreachable.isEmpty {
            html += "<ul>" + choice.unreachable.map { "<li>\(HTML.escape("\($0.depth) decoder blocks left out: \($0.reason)"))</li>" }.joined() + "</ul>"
        }
        return html + "</section>"
    }

    /// The blocks a pruned student keeps and the choices scored before training.
    static func selectionTable(_ s: LayerSelection) -> String {
        var html = "<p>\(HTML.escape("Keeps teacher decoder blocks \(s.decoderLayers.map(String.init).joined(separator: ", ")) of \(s.teacherDecoderLayers) (\(s.method.rawValue) choice)."))</p>"
        guard !s.candidates.isEmpty else { return html }
        html += "<h3>Layer choices scored before training</h3>" + HTML.table(
            ["teacher blocks kept", "KL (nats)", "last hidden-state error"],
            s.candidates.sorted { $0.kl < $1.kl }.prefix(12).map { [$0.decoderLayers.map(String.init).joined(separator: ", "), number($0.kl), number($0.hiddenError)] },
            numeric: [1, 2], caption: "Every pruned decoder teacher-forced on the teacher's transcripts of \(s.positions) positions; lowest KL first.")
        return html
    }
}
