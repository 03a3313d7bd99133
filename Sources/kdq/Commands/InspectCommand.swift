import ArgumentParser
import KDQAnalysis
import KDQFormats
import KDQJSON
import KDQTensor

/// `kdq inspect PATH`: what is inside a checkpoint.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a checkpoint's format, dims, sizes and tensor table.",
        discussion: """
            PATH is any Whisper checkpoint: an OpenAI .pt file, a Hugging Face directory or .safetensors file, \
            a whisper.cpp ggml .bin, or a CTranslate2 model directory. The format is recognized from the bytes. \
            Only headers are read unless --stats is given.
            """
    )

    @Argument(help: "Checkpoint file or model directory.")
    var path: String

    @Flag(name: .long, help: "Decode every tensor and show min, max, mean, std and zero/NaN/Inf counts.")
    var stats = false

    @Flag(name: .long, help: "Also print the SHA-256 of the weights file.")
    var hash = false

    @Flag(name: .long, help: "Show the quantization plan a .kdq archive records: each tensor's chosen encoding and every alternative's measured loss.")
    var plan = false

    @Flag(name: .long, help: "Show the recorded sensitivity profile: each layer's relative change when one tensor is quantized.")
    var profile = false

    @OptionGroup var filter: FilterOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let checkpoint = try Checkpoint.open(path)
        if plan || profile { return try showQuantization(checkpoint) }
        let progress = TerminalProgress("stats")
        let summary = try CheckpointSummary(checkpoint, include: filter.predicate, withStatistics: stats) { done, total in
            progress.update(done, total, unit: Format.bytes)
        }
        progress.finish()
        if output.json {
            var json = summary.json
            if hash, case .object(var o) = json { o["sha256"] = .string(checkpoint.provenance.sha256); json = .object(o) }
            output.emit(json)
        } else {
            print(render(summary))
        }
    }

    /// `--plan` / `--profile`: the archive's quantization record.
    private func showQuantization(_ checkpoint: Checkpoint) throws {
        guard let compression = checkpoint.archiveManifest?["compression"]?.objectValue else {
            throw ValidationError("\(path) is not a .kdq archive; only archives record a quantization plan")
        }
        if output.json {
            var o = JSONObject()
            if plan {
                o["encodings"] = compression["encodings"] ?? .null
                o["evaluation"] = compression["evaluation"] ?? .null
                o["input_scaling"] = compression["input_scaling"] ?? .null
            }
            if profile { o["error_profiles"] = compression["error_profiles"] ?? .null }
            output.emit(.object(o))
            return
        }
        let report = QuantizationReport(compression: compression, include: filter.predicate)
        print([plan ? try report.plan() : nil, profile ? report.profile() : nil].compactMap { $0 }.joined(separator: "\n\n"))
    }

    private func render(_ s: CheckpointSummary) -> String {
        let c = s.checkpoint
        var lines: [String] = []
        let model = c.dims.modelSizeName.map { " (Whisper \($0))" } ?? ""
        lines.append("\(c.provenance.path): \(c.provenance.format.rawValue)\(model), \(Format.bytes(c.provenance.size))")
        if hash { lines.append("sha256      \(c.provenance.sha256)") }
        lines.append("dims        " + c.dims.namedValues.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        lines.append("parameters  \(Format.count(c.parameterCount)) in \(c.tensors.count) tensors, \(Format.bytes(c.tensorBytes)) of tensor data")
        for e in c.bytesByEncoding {
            lines.append("  \(e.encoding.rawValue + String(repeating: " ", count: max(0, 10 - e.encoding.rawValue.count))) \(String(e.tensors).leftPadded(4)) tensors  \(Format.bytes(e.bytes))")
        }
        var tok: [String] = []
        if let v = c.tokenizer.vocabulary { tok.append("vocabulary of \(v.count) (\(c.tokenizer.spelling.rawValue))") }
        if c.tokenizer.tokenizerJSON != nil { tok.append("tokenizer.json") }
        if !c.tokenizer.specialTokens.isEmpty { tok.append("\(c.tokenizer.specialTokens.count) special tokens") }
        if let kept = c.keptTokenCount {
            tok.append("vocabulary trimmed: \(kept) of \(c.dims.nVocab) tokens kept")
        }
        lines.append("tokenizer   " + (tok.isEmpty ? "none" : tok.joined(separator: ", ")))
        lines.append("mel filters " + (c.melFilters.map { "\($0.nMels) × \($0.nFrequencies)" } ?? "none"))
        lines.append("")
        var headers = ["tensor", "shape", "encoding", "bytes"]
        if stats { headers += ["min", "max", "mean", "std", "zeros", "nan", "inf"] }
        var table = TextTable(headers, rightAligned: Set(3..<headers.count))
        for (name, t) in s.tensors {
            var row = [name, Format.shape(t.shape), t.encoding.rawValue, String(t.byteCount)]
            if let st = s.statistics[name] {
                row += [Format.sci(Double(st.min)), Format.sci(Double(st.max)), Format.sci(st.mean), Format.sci(st.standardDeviation),
                        String(st.zeros), String(st.nans), String(st.infinities)]
            }
            table.add(row)
        }
        lines.append(table.render())
        return lines.joined(separator: "\n")
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
