import ArgumentParser
import KDQEngine
import KDQFormats
import KDQQuantize
import KDQTensor

/// `kdq import SRC -o OUT.kdq`: package any readable checkpoint as a `.kdq` archive.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Package any readable Whisper checkpoint as a .kdq archive.",
        discussion: """
            Encodings are kept unless --dtype asks otherwise: ggml blocks stay the same bytes and \
            CTranslate2 int8 rows keep their scales. With --dtype f32, f16 or bf16 every tensor is \
            converted (quantized ones are decoded first). With a ggml block type (q8_0, q5_1, q5_0, \
            q4_1, q4_0) the matrices whisper.cpp quantizes (linear weights and the token embedding) \
            are quantized exactly as whisper.cpp's quantizer does, the rest kept. Every conversion is \
            recorded in the archive's provenance. The archive is written under a temporary name and renamed when complete.
            """
    )

    enum DType: String, ExpressibleByArgument, CaseIterable { case keep, f32, f16, bf16, q8_0, q5_1, q5_0, q4_1, q4_0 }

    @Argument(help: "Checkpoint file or model directory (any supported format, or a .kdq).")
    var source: String

    @Option(name: .shortAndLong, help: "Archive to write.")
    var output: String

    @Option(help: "Tensor encoding: keep, f32, f16, bf16, or a ggml block type for the weight matrices (q8_0, q5_1, q5_0, q4_1, q4_0).")
    var dtype: DType = .keep

    @Option(help: "How ggml block types are chosen: nearest (whisper.cpp's round-to-nearest, byte-identical) or search (the error-minimizing scale per block; same layout).")
    var quantizer: BlockQuantizer = .nearest

    @Option(help: "Compress the whole archive: none, zstd or xz (a compressed archive is not memory-mappable).")
    var compress: KDQWriteOptions.Compression = .none

    @OptionGroup var vocabularyOption: VocabularyOption
    @OptionGroup var outputOptions: OutputOptions

    func run() throws {
        var checkpoint = try vocabularyOption.open(source)
        var options = KDQWriteOptions(compression: compress, command: CommandLine.arguments.joined(separator: " "))
        let clock = Stopwatch()
        if let target = Encoding(rawValue: dtype.rawValue) {
            options.conversions = try checkpoint.convertTensors(quantizer: quantizer) { name, t in
                !target.isQuantized || QuantizationCandidates.isUniformTarget(name, t) ? target : nil
            }
        }
        let convertSeconds = clock.lap()
        let progress = TerminalProgress("import")
        try KDQArchiveWriter.write(checkpoint, to: output, options: options) { done, total in progress.update(done, total, unit: Format.bytes) }
        progress.finish()
        let writeSeconds = clock.lap()
        let written = try Checkpoint.open(output)
        if outputOptions.json {
            outputOptions.emit(.object(["output": .string(output), "bytes": .number(written.provenance.size),
                                        "tensors": .number(written.tensors.count), "tensor_bytes": .number(written.tensorBytes),
                                        "conversions": .number(options.conversions.count),
                                        "convert_seconds": .number(convertSeconds), "write_seconds": .number(writeSeconds)]))
        } else {
            print("\(output): \(written.tensors.count) tensors, \(Format.bytes(written.tensorBytes)) of tensor data, \(Format.bytes(written.provenance.size)) on disk")
            if !options.conversions.isEmpty { print("converted \(options.conversions.count) tensors to \(dtype.rawValue)") }
        }
    }
}

extension KDQWriteOptions.Compression: ExpressibleByArgument {}
extension BlockQuantizer: ExpressibleByArgument {}
