import ArgumentParser
import KDQAnalysis
import KDQFormats

/// `kdq diff A B`: two checkpoints compared tensor by tensor.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two checkpoints in any formats, tensor by tensor, after decoding to f32.",
        discussion: """
            Tensors are matched by canonical (openai-whisper) name. A is the reference: relative error is \
            ‖A−B‖/‖A‖ and SNR is 10·log10(‖A‖²/‖A−B‖²). Exits 0 whether or not the models differ; \
            use --fail-on-difference to exit 1 when any tensor differs.
            """
    )

    @Argument(help: "Reference checkpoint.") var a: String
    @Argument(help: "Checkpoint compared with the reference.") var b: String

    @Flag(name: .long, help: "Show only the per-layer summary, not every tensor.")
    var layersOnly = false

    @Flag(name: .long, help: "Exit with status 1 when the checkpoints are not identical.")
    var failOnDifference = false

    @OptionGroup var filter: FilterOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let ca = try Checkpoint.open(a), cb = try Checkpoint.open(b)
        let progress = TerminalProgress("diff")
        let diff = try CheckpointDiff(ca, cb, include: filter.predicate) { done, total in progress.update(done, total) }
        progress.finish()
        if output.json { output.emit(diff.json) } else { print(render(diff, ca, cb)) }
        if failOnDifference && !diff.isIdentical { throw ExitCode(1) }
    }

    private func metricCells(_ m: ErrorMetrics) -> [String] {
        [Format.sci(m.rmse), Format.sci(Double(m.maxAbsError)), Format.sci(m.relativeError), Format.fixed(m.cosine, 6),
         m.snrDecibels.isFinite ? Format.fixed(m.snrDecibels, 1) : "exact"]
    }

    private func render(_ d: CheckpointDiff, _ ca: Checkpoint, _ cb: Checkpoint) -> String {
        var lines = ["A: \(ca.provenance.path) (\(ca.provenance.format.rawValue))", "B: \(cb.provenance.path) (\(cb.provenance.format.rawValue))"]
        if ca.dims != cb.dims { lines.append("dims differ: A \(ca.dims.namedValues.map { "\($0.1)" }) vs B \(cb.dims.namedValues.map { "\($0.1)" })") }
        let metrics = ["rmse", "max abs", "rel err", "cosine", "SNR dB"]
        if !layersOnly {
            var table = TextTable(["tensor", "shape", "A", "B"] + metrics, rightAligned: Set(4..<9))
            for t in d.tensors {
                let cells = t.metrics.map(metricCells) ?? ["shape differs: " + Format.shape(t.shapeB), "", "", "", ""]
                table.add([t.name, Format.shape(t.shapeA), t.encodingA.rawValue, t.encodingB.rawValue] + cells)
            }
            lines += ["", table.render()]
        }
        var layers = TextTable(["layer", "tensors"] + metrics + ["worst rel"], rightAligned: Set(1..<8))
        for l in d.layers { layers.add([l.layer, String(l.tensors)] + metricCells(l.metrics) + [Format.sci(l.worstRelativeError)]) }
        layers.add(["all", String(d.tensors.count)] + metricCells(d.overall) + [Format.sci(d.layers.map(\.worstRelativeError).max() ?? 0)])
        lines += ["", layers.render()]
        if !d.onlyInA.isEmpty { lines.append("only in A: " + d.onlyInA.joined(separator: ", ")) }
        if !d.onlyInB.isEmpty { lines.append("only in B: " + d.onlyInB.joined(separator: ", ")) }
        lines.append(d.isIdentical ? "identical: every tensor equal after decoding" : "different")
        return lines.joined(separator: "\n")
    }
}
