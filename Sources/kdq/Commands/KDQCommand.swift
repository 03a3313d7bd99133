import ArgumentParser

/// `kdq`: convert, compress, package, inspect and measure Whisper checkpoints.
struct KDQCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kdq",
        abstract: "Read, inspect, compare, package, export and run Whisper checkpoints (OpenAI .pt, Hugging Face, whisper.cpp ggml, CTranslate2, .kdq).",
        version: "0.1.0",
        subcommands: [InspectCommand.self, DiffCommand.self, ImportCommand.self, ExportCommand.self, VerifyCommand.self, TranscribeCommand.self, EvalCommand.self, QuantizeCommand.self, StudentCommand.self, DistillCommand.self, CompressCommand.self, CompareCommand.self, ReportCommand.self]
    )
}
