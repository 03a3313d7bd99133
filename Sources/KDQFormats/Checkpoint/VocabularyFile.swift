import Foundation
import KDQJSON

/// A vocabulary from a file, used instead of what a checkpoint carries (`--vocabulary FILE`):
/// a tiktoken file (openai-whisper's `gpt2.tiktoken` / `multilingual.tiktoken`), a Hugging Face
/// `tokenizer.json`, or a `vocab.json` (GPT-2 byte-level spelling; its `merges.txt` is not needed:
/// Whisper's merge order is its token order).
public enum VocabularyFile {
    /// The tokenizer material in `path`.
    public static func load(_ path: String) throws -> TokenizerMaterial {
        guard let bytes = try FileBytes.readIfPresent(path) else { throw FormatError(.io, "no such vocabulary file", path: path) }
        if path.hasSuffix(".tiktoken") {
            let tokens = try OpenAIVocabulary.parse(Data(bytes), path: path)
            return TokenizerMaterial(vocabulary: tokens, specialTokens: TokenizerMaterial.specialTokens(in: tokens))
        }
        guard let json = try? JSONValue.parse(bytes), let object = json.objectValue else {
            throw FormatError(.badHeader, "not a tiktoken file (name ending .tiktoken), a tokenizer.json or a vocab.json", path: path)
        }
        if json["model"]?["vocab"] != nil {
            let material = TokenizerMaterial(spelling: .byteLevel, tokenizerJSON: bytes)
            guard let tokens = material.vocabularyFromTokenizerJSON() else {
                throw FormatError(.badHeader, "the tokenizer.json's model.vocab and added_tokens do not number every id from 0", path: path)
            }
            var out = TokenizerMaterial(vocabulary: tokens, spelling: .byteLevel, tokenizerJSON: bytes)
            out.specialTokens = TokenizerMaterial.specialTokens(in: tokens)
            return out
        }
        var byID: [Int: String] = [:]
        for (token, id) in object.entries {
            guard let id = id.intValue, id >= 0, byID[id] == nil else {
                throw FormatError(.badHeader, "'\(token)' has no id or a repeated one (a vocab.json maps each token to a distinct id)", path: path)
            }
            byID[id] = token
        }
        guard let last = byID.keys.max(), last == byID.count - 1 else {
            throw FormatError(.badHeader, "the ids of \(byID.count) tokens do not number 0…\(byID.count - 1)", path: path)
        }
        let tokens = (0...last).map { Array(byID[$0]!.utf8) }
        return TokenizerMaterial(vocabulary: tokens, spelling: .byteLevel, specialTokens: TokenizerMaterial.specialTokens(in: tokens))
    }

    /// `checkpoint` with the vocabulary of `path`, which must fit the model: every token
    /// (n_vocab), or the BPE tokens before `<|endoftext|>`'s id (the special tokens follow from
    /// the size, as in openai-whisper's files).
    public static func apply(_ path: String, to checkpoint: Checkpoint) throws -> Checkpoint {
        let material = try load(path)
        let count = material.vocabulary?.count ?? 0
        let nVocab = checkpoint.dims.nVocab
        let bpe = WhisperVocabulary.endOfText(nVocab: nVocab)
        guard count == nVocab || count == bpe else {
            throw FormatError(.badHeader, "\(count) tokens; the model's vocabulary has \(nVocab)"
                + (bpe.map { " (or \($0) BPE tokens before the special ones)" } ?? ""), path: path)
        }
        var out = checkpoint
        out.tokenizer = material
        return out
    }
}
