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
        if let choice = r.depthChoice { body.append(depthChoice(choice)) }
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
            ["layers", "encoder \(r.dims.nAudioLayer) × \(r.dims.nAudioState), decoder \(r.dims.nTextLayer) × \(r.dims.nTextState), vocabulary \(r.keptTokens.map { "\($0) of " } ?? "")\(r.dims.nVocab)"],
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
