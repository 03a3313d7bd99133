import KDQJSON
import KDQQuantize

/// Renders a `.kdq` archive's quantization record (`compression.encodings`, `error_profiles`,
/// `evaluation`) for `kdq inspect --plan` and `--profile`.
struct QuantizationReport {
    let compression: JSONObject
    let include: (String) -> Bool

    /// The plan: method, budget, end-to-end check, and per tensor the choice and every
    /// alternative's loss (`*` marks losses scaled rather than measured).
    func plan() -> String {
        guard let record = compression["encodings"]?.objectValue else { return "no quantization plan recorded" }
        var lines: [String] = []
        let budget = record["budget"]?.objectValue
        var head = "plan        \(record["method"]?.stringValue ?? "?"), quantizer \(record["quantizer"]?.stringValue ?? "?")"
        if record["weighting"]?.stringValue == "activations" { head += " weighted by the calibration activations" }
        if let bytes = budget?["tensor_bytes"]?.intValue { head += ", \(Format.bytes(bytes)) of tensor data" }
        if let bpw = budget?["bits_per_weight"]?.doubleValue { head += " (\(Format.fixed(bpw, 2)) bits/weight)" }
        lines.append(head)
        if let target = budget?["target_bytes"]?.intValue {
            lines.append("budget      \(Format.bytes(target)) (\(budget?["rule"]?.stringValue ?? ""))")
        }
        if let kl = record["predicted_kl"]?.doubleValue { lines.append("predicted   mean KL \(Format.fixed(kl, 5)) (sum of the chosen alternatives' losses)") }
        if let e = compression["evaluation"]?.objectValue, let kl = e["mean_kl"]?.doubleValue {
            let wer = [e["source_wer"]?.doubleValue, e["quantized_wer"]?.doubleValue].compactMap { $0 }.map { Format.fixed(100 * $0, 2) + "%" }
            lines.append("measured    mean KL \(Format.fixed(kl, 5)); calibration WER \(wer.joined(separator: " → "))")
        }
        guard let tensors = record["tensors"]?.objectValue else { return lines.joined(separator: "\n") }
        let columns = QuantizationCandidates.encodings.map(\.rawValue)
        var table = TextTable(["tensor", "source", "chosen", "bytes"] + columns.map { "KL \($0)" }, rightAligned: Set(3..<(4 + columns.count)))
        for (name, value) in tensors.entries where include(name) {
            guard let t = value.objectValue else { continue }
            let alternatives = t["alternatives"]?.objectValue
            let cells = columns.map { c -> String in
                guard let a = alternatives?[c]?.objectValue else { return "" }
                let kl = a["mean_kl"]?.doubleValue.map { Format.fixed($0, 6) } ?? "–"
                return a["kl_measured"]?.boolValue == false ? kl + "*" : kl
            }
            let chosen = (t["chosen"]?.stringValue ?? "?") + (t["pinned"]?.boolValue == true ? " (kept)" : "")
            table.add([name, t["source"]?.stringValue ?? "?", chosen, Format.bytes(t["bytes"]?.intValue ?? 0)] + cells)
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
