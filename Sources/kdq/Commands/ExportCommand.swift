import ArgumentParser
import KDQFormats
import KDQJSON

/// `kdq export SRC --to ggml|ct2|hf|pt -o OUT`.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a .kdq archive (or any readable checkpoint) for whisper.cpp, faster-whisper, transformers or openai-whisper.",
        discussion: """
            ggml: a whisper.cpp model file (one weight type for linear weights and the token embedding, \
            block encodings copied as they are; f16 conv weights; f32 biases, norms and positional \
            embeddings; mel filters and vocabulary). ct2: a faster-whisper model directory (QKV and \
            cross-attention KV fused again). hf: a Hugging Face directory for \
            WhisperForConditionalGeneration.from_pretrained. pt: an OpenAI checkpoint as torch.save \
            writes it, for whisper.load_model (block-encoded tensors decoded to f32; release \
            vocabulary sizes only, as openai-whisper brings the tokenizer). Whatever the target cannot represent is \
            converted and listed; nothing is dropped silently. The output appears only when complete.
            """
    )

    enum Target: String, ExpressibleByArgument, CaseIterable { case ggml, ct2, hf, pt }

    @Argument(help: "A .kdq archive or any readable checkpoint.")
    var source: String

    @Option(help: "Target: ggml, ct2, hf or pt.")
    var to: Target

    @Option(name: .shortAndLong, help: "Output file (ggml, pt) or directory (ct2, hf).")
    var output: String

    @OptionGroup var vocabularyOption: VocabularyOption
    @OptionGroup var outputOptions: OutputOptions

    func run() throws {
        let checkpoint = try vocabularyOption.open(source)
        let report = try ExportTarget(rawValue: to.rawValue)!.write(checkpoint, to: output)
        if outputOptions.json {
            outputOptions.emit(.object([
                "output": .string(output), "target": .string(to.rawValue),
                "conversions": .array(report.conversions.map {
                    .object(["tensor": .string($0.tensor), "from": .string($0.from.rawValue), "to": .string($0.to.rawValue), "reason": .string($0.reason)])
                }),
                "omissions": .array(report.omissions.map { .string($0) }),
            ]))
            return
        }
        print("\(output): \(to.rawValue), \(checkpoint.tensors.count) tensors")
        let grouped = Dictionary(grouping: report.conversions) { "\($0.from.rawValue) -> \($0.to.rawValue): \($0.reason)" }
        for (what, items) in grouped.sorted(by: { $0.key < $1.key }) { print("converted \(items.count) tensors \(what)") }
        for o in report.omissions { print("note: \(o)") }
    }
}
