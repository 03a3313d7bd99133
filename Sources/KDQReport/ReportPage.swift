import Foundation
import KDQCompare
import KDQDistill
import KDQQuantize
import KDQTensor

/// `ArchiveReport` as one self-contained HTML page: inline CSS and SVG, no scripts, nothing
/// fetched, laid out to print.
public enum ReportPage {
    /// The page.
    public static func html(_ r: ArchiveReport) -> String {
        let name = (r.path as NSString).lastPathComponent
        var body = ["<header><h1>\(HTML.escape(name))</h1><p class=\"sub\">\(HTML.escape(r.modelName.map { "Whisper \($0) layout · " } ?? ""))"
                    + "\(HTML.escape(bytes(r.fileBytes))) · sha256 <code>\(HTML.escape(String(r.sha256.prefix(16))))…</code></p>"
                    + (r.command.map { "<p class=\"sub\">made by <code>\(HTML.escape($0))</code></p>" } ?? "") + "</header>"]
        body.append(sizes(r))
        if let plan = r.plan { body.append(quantization(plan, r)) }
        if let d = r.distillation { body.append(distillation(d)) }
        if let s = r.selection { body.append("<section id=\"student\"><h2>Layer-pruned student</h2>" + selectionTable(s) + "</section>") }
        if let c = r.comparison { body.append(comparison(c)) }
        body.append(evaluation(r))
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>kdq report: \(HTML.escape(name))</title>
            <style>\(style)</style></head>
            <body>
            \(body.joined(separator: "\n"))
            <footer>Written by kdq report. Charts use the Okabe–Ito colours; every value is also in a table or the archive's manifest.</footer>
            </body></html>
            """
    }

    static let style = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1a1a1a;max-width:1000px;margin:24px auto;padding:0 16px}
        h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #ccc;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
        .sub{color:#555;margin:2px 0}code{font-size:12px;background:#f3f3f3;padding:1px 3px;border-radius:3px}
        table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{padding:3px 8px;border-bottom:1px solid #e3e3e3;text-align:left}
        th{background:#f6f6f6}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}caption{text-align:left;color:#555;padding:2px 0}
        figure{margin:12px 0}figcaption{color:#444;font-size:13px;max-width:680px}svg.chart{max-width:100%;height:auto;display:block}
        svg .tick{font-size:11px;fill:#333}svg .axis-label{font-size:12px;fill:#111}svg .legend{font-size:12px;fill:#111}svg .note{font-size:11px;fill:#111}
        footer{margin-top:32px;color:#666;font-size:12px}
        @media print{body{margin:0;max-width:none}section,figure,table{break-inside:avoid}h2{break-after:avoid}}
        """

    static func figure(_ svg: String, _ caption: String) -> String {
        "<figure>\(svg)<figcaption>\(HTML.escape(caption))</figcaption></figure>"
    }

    static func bytes(_ n: Int) -> String { String(format: "%.2f MB", Double(n) / 1e6) }
    static func number(_ v: Double, _ digits: Int = 3) -> String { v.isFinite ? String(format: "%.\(digits)f", v) : "–" }
    static func percent(_ v: Double?) -> String { v.map { String(format: "%.2f%%", 100 * $0) } ?? "–" }

    // MARK: sections

    static func sizes(_ r: ArchiveReport) -> String {
        let bpw = r.parameters > 0 ? 8 * Double(r.tensorBytes) / Double(r.parameters) : 0
        let summary = HTML.table(["", ""], [
            ["file", bytes(r.fileBytes)], ["tensor data", bytes(r.tensorBytes)], ["parameters", String(r.parameters)],
            ["bits per weight", number(bpw, 2)],
            ["layers", "encoder \(r.dims.nAudioLayer) × \(r.dims.nAudioState), decoder \(r.dims.nTextLayer) × \(r.dims.nTextState), vocabulary \(r.dims.nVocab)"],
        ], numeric: [1])
        let encodings = r.byEncoding.map(\.encoding)
        let byEncoding = BarChart(title: "Tensor bytes by encoding", categories: encodings.map(\.rawValue),
                                  series: encodings.enumerated().map { k, e in
                                      BarChart.Series(name: e.rawValue, color: Palette.color(e),
                                                      values: encodings.indices.map { $0 == k ? Double(r.byEncoding[k].bytes) / 1e6 : 0 })
                                  }, yLabel: "MB")
        let used = Set(r.byLayer.flatMap { $0.bytes.keys })
        let layerEncodings = encodings.filter(used.contains)
        var byLayer = BarChart(title: "Tensor bytes by layer and encoding", categories: r.byLayer.map(\.layer),
                               series: layerEncodings.map { e in
                                   BarChart.Series(name: e.rawValue, color: Palette.color(e), values: r.byLayer.map { Double($0.bytes[e] ?? 0) / 1e6 })
                               }, yLabel: "MB")
        byLayer.xLabel = "layer"
        let table = HTML.table(["encoding", "tensors", "MB"], r.byEncoding.map { [$0.encoding.rawValue, String($0.tensors), number(Double($0.bytes) / 1e6, 2)] },
                               numeric: [1, 2])
        return "<section id=\"size\"><h2>Size</h2>\(summary)"
            + figure(byEncoding.svg, "Megabytes of tensor data per encoding (the file adds its records, the tokenizer and the tar layout).")
            + table
            + figure(byLayer.svg, "Megabytes per layer, split by encoding: the encoder's stem and blocks, the token embedding (tied with the output), the decoder's blocks.")
            + "</section>"
    }

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
        let columns = QuantizationCandidates.encodings
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

    static func distillation(_ d: DistillationRecord) -> String {
        var items = ["teacher \(d.teacherPath) (\(d.teacherDecoderLayers) decoder blocks)",
                     "\(d.steps) steps in \(number(d.seconds / 60, 1)) min, \(number(d.tokensPerSecond, 1)) tokens/s",
                     "\(d.trainingClips) training clips, \(d.validationClips) held back for validation"]
        if d.quantizationAware { items.append("trained through its planned encodings (quantization-aware)") }
        if let s = d.selection { items.append("student keeps teacher decoder blocks \(s.decoderLayers.map(String.init).joined(separator: ", ")) (\(s.method.rawValue) choice)") }
        var html = "<section id=\"distillation\"><h2>Distillation</h2><ul>" + items.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>"
        if let choice = d.depthChoice {
            html += "<h3>How the student was chosen</h3>" + HTML.table(
                ["", "teacher blocks kept", "choice", "pruned KL", "probe steps", "probe KL", "quantization KL", "score", "bits/weight"],
                choice.candidates.enumerated().map { k, c in
                    [k == choice.chosen ? "chosen" : "", c.decoderLayers.map(String.init).joined(separator: ", "), c.selection.rawValue,
                     c.prunedKL.map { number($0) } ?? "–", String(c.probeSteps), number(c.probeKL), number(c.quantizationKL), number(c.score), number(c.bitsPerWeight, 2)]
                }, numeric: [3, 4, 5, 6, 7, 8], caption: choice.rule)
            if !choice.unreachable.isEmpty {
                html += "<ul>" + choice.unreachable.map { "<li>\(HTML.escape("\($0.depth) decoder blocks left out: \($0.reason)"))</li>" }.joined() + "</ul>"
            }
        }
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

    static func evaluation(_ r: ArchiveReport) -> String {
        var rows: [[String]] = []
        if let e = r.plan?.evaluation {
            rows.append(["calibration (\(e.utterances) utterances of \((e.manifest as NSString).lastPathComponent))", number(e.meanKL, 4),
                         percent(e.sourceWER), percent(e.quantizedWER), "–", "–"])
        }
        if let c = r.comparison {
            rows.append(["--audio (\(c.clips) clips)", number(c.tokens.meanKL, 4), percent(c.teacher.words?.rate), percent(c.student.words?.rate),
                         percent(c.teacher.characters?.rate), percent(c.student.characters?.rate)])
        }
        guard !rows.isEmpty else { return "" }
        return "<section id=\"evaluation\"><h2>Evaluation</h2>"
            + HTML.table(["audio", "mean KL from source", "source WER", "this WER", "source CER", "this CER"], rows, numeric: [1, 2, 3, 4, 5])
            + "</section>"
    }
}
