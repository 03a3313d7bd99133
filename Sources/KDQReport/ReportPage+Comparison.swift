import Foundation
import KDQCompare

extension ReportPage {
    /// Against the teacher: models, token agreement, per-block errors and attention, KL by position.
    static func comparison(_ c: ComparisonReport) -> String {
        var html = "<section id=\"compare\"><h2>Against the teacher</h2>"
        let models = [("teacher", c.teacher), ("this model", c.student)]
        html += HTML.table(["", "file", "encoder blocks", "decoder blocks", "tensor MB", "WER", "CER"], models.map { label, m in
            [label, (m.path as NSString).lastPathComponent, String(m.encoderLayers), String(m.decoderLayers), number(Double(m.tensorBytes) / 1e6, 2),
             percent(m.words?.rate), percent(m.characters?.rate)]
        }, numeric: [2, 3, 4, 5, 6], caption: "\(c.clips) clip\(c.clips == 1 ? "" : "s") transcribed; \(c.scoredClips) teacher-forced through both.")
        html += HTML.table(["mean KL (all positions)", "transcript KL", "top-1 agreement"],
                           [[number(c.tokens.meanKL, 4), number(c.tokens.transcriptKL, 4), percent(c.tokens.top1Agreement)]], numeric: [0, 1, 2])
        let layers = (c.encoder ?? []).map { ("enc \($0.student)→\($0.teacher)", $0) } + (c.decoder ?? []).map { ("dec \($0.student)→\($0.teacher)", $0) }
        if !layers.isEmpty {
            var chart = BarChart(title: "Hidden-state error per block", categories: layers.map(\.0),
                                 series: [.init(name: "", color: Palette.blue, values: layers.map { $0.1.metrics.relativeError })], yLabel: "relative error")
            chart.xLabel = "this model's block → the teacher block it is compared with"
            html += figure(chart.svg, "Relative error of each block's residual stream against its teacher block, over every teacher-forced clip.")
        }
        let attention = (c.decoder ?? []).compactMap { m in m.attentionDivergence.map { ("dec \(m.student)→\(m.teacher)", $0) } }
        if !attention.isEmpty {
            var chart = BarChart(title: "Cross-attention divergence per decoder block", categories: attention.map(\.0),
                                 series: [.init(name: "", color: Palette.green, values: attention.map(\.1))], yLabel: "Jensen–Shannon (nats, max 0.69)")
            chart.xLabel = "decoder block → teacher block"
            html += figure(chart.svg, "Where each block looks in the audio: divergence of its head-averaged cross-attention from the teacher block's, per transcript position.")
        }
        let positions = c.tokens.byIndex.enumerated().filter { $0.element.count > 0 }
        if !positions.isEmpty {
            var chart = LineChart(title: "KL by token position", xLabel: "token position (0 = start of transcript)", yLabel: "mean KL (nats, log)",
                                  series: [.init(name: "mean KL at the position", color: Palette.vermillion,
                                                 points: positions.map { (Double($0.offset), max(1e-6, $0.element.kl / Double($0.element.count))) }, markers: true)])
            chart.yLogarithmic = true
            html += figure(chart.svg, "Next-token KL from the teacher at each position of the teacher-forced transcripts (the first positions predict the forced prompt).")
        }
        if !c.strays.isEmpty {
            html += "<h3>Positions of largest KL</h3>" + HTML.table(["clip", "position", "KL", "expected", "teacher's top", "this model's top"],
                c.strays.map { [$0.position.clip, String($0.position.index), number($0.position.kl), $0.expected, $0.teacherTop, $0.studentTop] }, numeric: [1, 2])
        }
        let d = c.tensors.diff
        html += "<p>\(HTML.escape("\(d.tensors.count) tensors compared with the teacher's (blocks under the teacher block they are compared with): relative error \(number(d.overall.relativeError, 4)); \(d.onlyInA.count) only in the teacher."))</p>"
        return html + "</section>"
    }
}
