import ArgumentParser
import KDQDistill

/// The training-audio options `kdq distill` and `kdq compress` share: the manifest, which of its
/// clips train and validate, the label filter, the teacher's language, and where labelled clips
/// and checkpoints go.
struct TrainingDataOptions: ParsableArguments {
    @Option(help: "Training audio: JSON Lines with id, audio and optionally text (never the evaluation set).")
    var data: String

    @Option(help: "Work directory for labelled clips and checkpoints (default: OUTPUT.work).")
    var workDir: String?

    @Option(help: "Cache of labelled clips (default: WORK_DIR/clips); runs with the same teacher and data can share one.")
    var clipCache: String?

    @Option(help: "Use N clips spread over the data (default: all).")
    var limit: Int?

    @Option(help: "Clips held back for validation.")
    var validation: Int = 32

    @Option(help: "Drop clips whose reference text the teacher transcribes with a higher WER.")
    var maxReferenceWER: Double = 0.2

    @Option(help: "Language code for the teacher's transcripts (multilingual models).")
    var language: String?

    func validate() throws {
        guard validation >= 0 else { throw ValidationError("--validation must be at least 0") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        guard maxReferenceWER >= 0 else { throw ValidationError("--max-reference-wer must be at least 0") }
    }

    /// The clip selection these options give.
    var clips: ClipSelection {
        var c = ClipSelection()
        c.limit = limit
        c.validationClips = validation
        c.maxReferenceWER = maxReferenceWER
        c.cache = clipCache
        return c
    }
}
