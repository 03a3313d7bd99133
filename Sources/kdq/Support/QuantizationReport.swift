import KDQJSON
import KDQQuantize

/// Renders a `.kdq` archive's quantization record (`compression.encodings`, `error_profiles`,
/// `evaluation`) for `kdq inspect --plan` and `--profile`.
struct QuantizationReport {
    let compression: JSONObject
    let include: (String) -> Bool

    /// The plan: method, budget, end-to-end check, and per tensor the choice, every
    /// alternative's loss (`*` marks losses scaled rather than measured) and a bar of the
    /// chosen alternative's loss.
    func plan() throws -> String {
        guard let plan = try RecordedPlan(compression: compression) else { return "no quantization plan recorded" }
        var lines: [String] = []
        var head = "plan        \(plan.method), quantizer \(plan.quantizer)"
        switch plan.weighting.flatMap(ErrorWeighting.init(rawValue:)) {
        case .activations: head += " weighted by the calibration activations"
        case .covariance: head += " weighted by the calibration activations, errors compensated (GPTQ)"
        default: break
        }
        head += ", \(Format.bytes(plan.tensorBytes)) of tensor data"
        if let bpw = plan.bitsPerWeight { head += " (\(Format.fixed(bpw, 2)) bits/weight)" }
        lines.append(head)
        if let d = plan.decoderCovariances {
            let encoder = d.encoderWindows > 0 ? "encoder's from the calibration audio and \(d.encoderWindows) windows of the same clips"
                                               : "the rest from the calibration audio"
            lines.append("covariances decoder's from \(d.sequences) clips of \(d.manifest) (\(d.tokens) tokens), \(encoder)")
        }
        if let scaling = try compression["input_scaling"].flatMap({ $0.objectValue == nil ? nil : $0 }).map(InputScalingRecord.init(json:)) {
            let scaled = scaling.groups.filter { $0.exponent > 0 }.count
            lines.append("scaled      inputs of \(scaled) of \(scaling.groups.count) layer groups (AWQ, fitted for \(scaling.encoding.rawValue)): activation-weighted error ×\(Format.fixed(scaling.errorRatio, 3))")
        }
        if let target = plan.targetBytes { lines.append("budget      \(Format.bytes(target)) (\(plan.rule ?? ""))") }
        if let kl = plan.predictedKL { lines.append("predicted   mean KL \(Format.fixed(kl, 5)) (sum of the chosen alternatives' losses)") }
        if let r = plan.refinement {
            let tried = r.trials.map { "\($0.encoding.rawValue) \(Format.fixed($0.measuredKL, 5))" }.joined(separator: ", ")
            lines.append("refined     \(r.tensor): \(r.planned.rawValue) planned, \(r.chosen.rawValue) kept (whole-model mean KL: \(tried))")
        }
        if let e = plan.evaluation {
            let wer = [e.sourceWER, e.quantizedWER].compactMap { $0 }.map { Format.fixed(100 * $0, 2) + "%" }
            lines.append("measured    mean KL \(Format.fixed(e.meanKL, 5)); calibration WER \(wer.joined(separator: " → "))")
        }
        let shown = plan.tensors.filter { include($0.name) }
        guard !shown.isEmpty else { return lines.joined(separator: "\n") }
        let columns = QuantizationCandidates.columns(shown.map { $0.alternatives.map(\.encoding) })
        let largest = shown.compactMap { $0.chosenAlternative?.meanKL }.max() ?? 0
        var table = TextTable(["tensor", "source", "chosen", "bytes"] + columns.map { "KL \($0.rawValue)" } + [""],
                              rightAligned: Set(3..<(4 + columns.count)))
        for t in shown {
            let cells = columns.map { c -> String in
                guard let a = t.alternatives.first(where: { $0.encoding == c }) else { return "" }
                return Format.fixed(a.meanKL, 6) + (a.measured ? "" : "*")
            }
            table.add([t.name, t.source.rawValue, t.chosen.rawValue + (t.pinned ? " (kept)" : ""), Format.bytes(t.bytes)] + cells
                      + [Format.bar(t.chosenAlternative?.meanKL ?? 0, of: largest)])
        }
        lines.append("")
        lines.append(table.render())
        return lines.joined(separator: "\n")
    }

    /// The sensitivity profile: per measured alternative, the relative change of every
    /// encoder block, the encoder output, every decoder block, and the KL.
    func profile() -> String {
        guard let record = compression["error_profiles"]?.objectValue, let tensors = record["tensors"]?.objectValue else {
            return "no sensitivity profile recorded"
        }
        var table = TextTable(["tensor", "encoding", "encoder blocks (relative change)", "encoder out", "decoder blocks", "KL"],
                              rightAligned: [3, 5])
        for (name, value) in tensors.entries where include(name) {
            for (encoding, a) in value.objectValue?.entries ?? [] {
                func list(_ key: String) -> String {
                    (a[key]?.arrayValue ?? []).map { $0.doubleValue.map { Format.fixed($0, 4) } ?? "–" }.joined(separator: " ")
                }
                table.add([name, encoding, list("encoder_layers"), a["encoder_output"]?.doubleValue.map { Format.fixed($0, 4) } ?? "–",
                           list("decoder_layers"), a["mean_kl"]?.doubleValue.map { Format.fixed($0, 6) } ?? "–"])
            }
        }
        let windows = record["windows"]?.intValue ?? 0, positions = record["positions"]?.intValue ?? 0
        return "profile     \(windows) calibration windows, \(positions) token positions\n\n" + table.render()
    }
}
