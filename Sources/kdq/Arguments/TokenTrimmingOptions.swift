import ArgumentParser
import Foundation

/// `--keep-tokens-of WORDS` (repeatable): trim a student's vocabulary to the tokens that write
/// the words of these lists (`VocabularyTrimming`).
struct TokenTrimmingOptions: ParsableArguments {
    @Option(help: "Trim the vocabulary to the tokens that write these words (a file of one word per line; repeatable).")
    var keepTokensOf: [String] = []

    func validate() throws {
        for list in keepTokensOf where !FileManager.default.isReadableFile(atPath: list) {
            throw ValidationError("--keep-tokens-of \(list): no readable file (expected one word per line)")
        }
    }
}
