import ArgumentParser
import KDQFormats

/// `--vocabulary FILE`: a vocabulary to use instead of the one the checkpoint carries (or the
/// openai-whisper one kdq supplies for OpenAI checkpoints).
struct VocabularyOption: ParsableArguments {
    @Option(help: "Use this vocabulary instead of the checkpoint's: a .tiktoken file, a tokenizer.json or a vocab.json.")
    var vocabulary: String?

    /// Opens the checkpoint at `path` with the vocabulary given, if any.
    func open(_ path: String) throws -> Checkpoint {
        let checkpoint = try Checkpoint.open(path)
        guard let vocabulary else { return checkpoint }
        return try VocabularyFile.apply(vocabulary, to: checkpoint)
    }
}
