import Foundation
import KDQQuantize
import KDQTensor

extension ReportPage {
    /// The plan: its summary, the size/KL trade-off curve, the KL by layer, the costliest tensors.
    static func quantization(_ plan: RecordedPlan, _ r: ArchiveReport) -> String {
        var items = ["method \(plan.method)" + (plan.quantizer.isEmpty ? "" : ", quantizer \(plan.quantizer)")]
        if let t = plan.targetBytes { items.append("tensor budget \(bytes(t))" + (plan.rule.map { " (\($0))" } ?? "")) }
        items.append("tensors \(bytes(plan.tensorBytes))" + (plan.bitsPerWeight.map { ", \(number($0, 2)) bits/weight" } ?? ""))
        if let kl = plan.predictedKL { items.append("predicted mean KL \(number(kl, 4)) nats (sum over tensors quantized one at a time)") }
        if let e = plan.evaluation { items.append("measured mean KL \(number(e.meanKL, 4)) nats on \(e.utterances) calibration utterances") }
        var html = "<section id=\"plan\"><h2>Quantization plan</h2><ul>" + items.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>"
        let curve = plan.tradeOffCurve
        if curve.count > 1 {
            var chart = LineChart(title: "Size against predicted KL", xLabel: "tensor data (MB)", yLabel: "predicted mean KL (nats, log)",
                                  series: [.init(name: "best plan at each size (recorded alternatives)", color: Palette.blue,
                                                 points: curve.map { (Double($0.bytes) / 1e6, $0.kl) })])
            chart.yLogarithmic = true
            if let t = plan.targetBytes { chart.verticals.append((Double(t) / 1e6, "budget")) }
            if let kl = plan.predictedKL { chart.highlights.append((Double(plan.tensorBytes) / 1e6, kl, "chosen")) }
            html += figure(chart.svg, "Each point is the smallest summed KL the measured alternatives reach at that many bytes (the lower convex hull of every tensor's size/KL choices, cheapest KL per byte first); the dotted line is the budget, the circle the plan written.")
        }
        let byLayer = r.predictedKLByLayer
        if !byLayer.isEmpty {
            var chart = BarChart(title: "Predicted KL by layer", categories: byLayer.map(\.layer),
                                 series: [.init(name: "", color: Palette.vermillion, values: byLayer.map(\.kl))], yLabel: "KL (nats)")
            chart.xLabel = "layer"
            html += figure(chart.svg, "The error profile of the plan: the KL each layer's tensors add in their chosen encodings (measured one tensor at a time on the calibration audio).")
        }
        let columns = QuantizationCandidates.columns(plan.tensors.map { $0.alternatives.map(\.encoding) })
        let worst = plan.tensors.sorted { ($0.chosenAlternative?.meanKL ?? 0) > ($1.chosenAlternative?.meanKL ?? 0) }
        func row(_ t: RecordedPlan.TensorChoice) -> [String] {
            [t.name, t.source.rawValue, t.chosen.rawValue + (t.pinned ? " (kept)" : ""), number(Double(t.bytes) / 1e6, 3)]
                + columns.map { e in t.alternatives.first { $0.encoding == e }.map { String(format: "%.2e", $0.meanKL) + ($0.measured ? "" : "*") } ?? "" }
        }
        let headers = ["tensor", "source", "chosen", "MB"] + columns.map { "KL \($0.rawValue)" }
        html += "<h3>The tensors that cost most</h3>"
            + HTML.table(headers, worst.prefix(15).map(row), numeric: Set(3..<headers.count),
                         caption: "KL of each alternative with that tensor alone quantized (* scaled from a measured encoding by the ratio of squared weight errors).")
        html += "<details><summary>All \(plan.tensors.count) tensors</summary>" + HTML.table(headers, plan.tensors.map(row), numeric: Set(3..<headers.count)) + "</details>"
        return html + "</section>"
    }
}
