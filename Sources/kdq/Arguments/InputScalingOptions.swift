import ArgumentParser
import KDQTensor

/// `--input-scaling`, shared by `kdq quantize` and `kdq compress`.
struct InputScalingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Before measuring anything, fold activation-aware input scales (AWQ) into the model: each group of layers that reads one input (behind a layer norm, or attention's values) has its input columns scaled by their calibration RMS to the power α, the inverse folded into the norm or the value projection — no bytes, the same outputs — with α chosen per group by its activation-weighted error in this ggml block encoding (the plan's typical width, e.g. q3_K at 3–4 bits per weight). Recorded in compression.input_scaling.",
                           valueName: "encoding"))
    var inputScaling: String?

    func validate() throws { _ = try encoding() }

    /// The encoding the scales are fitted for, nil when not asked.
    func encoding() throws -> Encoding? {
        guard let inputScaling else { return nil }
        guard let e = Encoding(rawValue: inputScaling), BlockGrid.encodings.contains(e) else {
            throw ValidationError("--input-scaling: '\(inputScaling)' is not a ggml block encoding; expected one of \(BlockGrid.encodings.map(\.rawValue).sorted().joined(separator: ", "))")
        }
        return e
    }
}
