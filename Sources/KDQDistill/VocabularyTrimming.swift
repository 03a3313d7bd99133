import Foundation
import KDQEngine
import KDQFormats
import KDQJSON
import KDQTensor
import KDQTrain

/// Trims a student's vocabulary to the tokens its language needs: the token embedding (half of
/// a small Whisper's weights) keeps only their rows, and the model can neither read nor write
/// the others (`VocabularySubset`). Which tokens: every token the teacher's tokenizer uses to
/// write the words of the given word lists (each as listed, lower-case and capitalized, with
/// and without a leading space), every single byte (so any text can still be spelled), every
/// ASCII token without a letter (numbers, punctuation), and every special and timestamp token.
public enum VocabularyTrimming {
    /// What was kept and why: the record written into the archive (`compression.vocabulary`).
    public struct Record: Sendable, Equatable {
        /// One word list: its file name, word count and SHA-256.
        public struct WordList: Sendable, Equatable {
            public let name: String
            public let words: Int
            public let sha256: String
        }

        public let keptTokens: Int
        public let vocabularySize: Int
        public let wordLists: [WordList]

        /// The record's JSON form.
        public var json: JSONValue {
            .object([
                "kind": .string("vocabulary_trimming"),
                "kept_tokens": .number(keptTokens),
                "vocabulary_size": .number(vocabularySize),
                "rule": .string("tokens of the word lists' words (as listed, lower-case, capitalized; with and without a leading space), "
                                + "single bytes, ASCII tokens without letters, special and timestamp tokens"),
                "word_lists": .array(wordLists.map {
                    .object(["name": .string($0.name), "words": .number($0.words), "sha256": .string($0.sha256)])
                }),
            ])
        }
    }

    /// The ids to keep for `words` (see the type's rule).
    public static func keptTokens(_ tokenizer: WhisperTokenizer, words: [String]) throws -> [Int] {
        var kept = Set<Int>()
        for (id, bytes) in tokenizer.tokens.enumerated() {
            let isAsciiWithoutLetters = bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F && !(0x41...0x5A).contains($0) && !(0x61...0x7A).contains($0) }
            if id >= tokenizer.endOfText || bytes.count == 1 || isAsciiWithoutLetters { kept.insert(id) }
        }
        var forms = Set<String>()
        for word in words {
            for form in [word, word.lowercased(), word.prefix(1).uppercased() + word.dropFirst()] {
                forms.insert(form)
                forms.insert(" " + form)
            }
        }
        for form in forms { kept.formUnion(try tokenizer.encode(form)) }
        return kept.sorted()
    }

    /// Words of a word list: one per line, blank lines and surrounding spaces ignored.
    public static func words(inFile path: String) throws -> (words: [String], sha256: String) {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw TrainingError("cannot read word list \(path): \(error)") }
        let bytes = withExtendedLifetime(file) { Array(file.bytes) }
        let words = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !words.isEmpty else { throw TrainingError("\(path): no words (expected one word per line)") }
        return (words, bytes.withUnsafeBytes { SHA256Hasher.hex($0) })
    }

    /// The tokens `checkpoint`'s tokenizer needs for the word lists at `paths`, and the record
    /// of that choice.
    public static func keptTokens(_ checkpoint: Checkpoint, wordLists paths: [String]) throws -> (ids: [Int], record: Record) {
        var words: [String] = [], lists: [Record.WordList] = []
        for path in paths {
            let list = try Self.words(inFile: path)
            words += list.words
            lists.append(Record.WordList(name: (path as NSString).lastPathComponent, words: list.words.count, sha256: list.sha256))
        }
        let tokenizer = try WhisperTokenizer(checkpoint)
        let ids = try keptTokens(tokenizer, words: words)
        return (ids, Record(keptTokens: ids.count, vocabularySize: checkpoint.dims.nVocab, wordLists: lists))
    }

    /// Trims `checkpoint` to the tokens of the word lists at `paths` and records it in the
    /// archive manifest (`compression.vocabulary`).
    public static func trim(_ checkpoint: Checkpoint, wordLists paths: [String]) throws -> (Checkpoint, Record) {
        let kept = try keptTokens(checkpoint, wordLists: paths)
        return (try trim(checkpoint, keeping: kept), kept.record)
    }

    /// `checkpoint` trimmed to `kept`'s tokens, with its record in the archive manifest
    /// (`compression.vocabulary`).
    public static func trim(_ checkpoint: Checkpoint, keeping kept: (ids: [Int], record: Record)) throws -> Checkpoint {
        var trimmed = try checkpoint.trimmingVocabulary(to: VocabularySubset(ids: kept.ids, vocabularySize: checkpoint.dims.nVocab))
        let record = kept.record
        var manifest = trimmed.archiveManifest ?? JSONObject()
        var compression = manifest["compression"]?.objectValue ?? JSONObject()
        compression["vocabulary"] = record.json
        manifest["compression"] = .object(compression)
        trimmed.archiveManifest = manifest
        return trimmed
    }
}
