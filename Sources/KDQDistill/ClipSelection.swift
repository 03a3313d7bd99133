/// Which clips of a training manifest a run uses and how: how many (spread over it), how many
/// are held back for validation, which labelled clips are dropped, and where labels are cached.
public struct ClipSelection: Sendable, Equatable {
    /// Clips used, spread over the manifest (nil: all).
    public var limit: Int?
    /// Clips held back for validation.
    public var validationClips = 32
    /// Clips whose reference text the teacher transcribes with a higher WER are dropped.
    public var maxReferenceWER = 0.2
    /// Where labelled clips are cached (default: the work directory's `clips`); runs on the same
    /// teacher and data can share it.
    public var cache: String?

    public init() {}
}
