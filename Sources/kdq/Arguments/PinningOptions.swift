import ArgumentParser
import KDQQuantize

/// `--keep PATTERN[=ENCODING]` (repeatable): tensors a guided plan may not choose for, held to
/// an encoding or to their own (`KeepRule`).
struct PinningOptions: ParsableArguments {
    @Option(help: "Pin tensors: PATTERN=ENCODING (a tensor whose rows are not whole blocks of it keeps its own), or PATTERN to keep their encoding (repeatable; e.g. 'encoder.conv*=f16').")
    var keep: [String] = []

    func validate() throws {
        _ = try rules()
    }

    /// The parsed rules, in the order given.
    func rules() throws -> [KeepRule] {
        try keep.map { text in
            do { return try KeepRule(parsing: text) } catch { throw ValidationError("--keep: \(error)") }
        }
    }
}
