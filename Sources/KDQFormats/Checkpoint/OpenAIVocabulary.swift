import Foundation

/// The BPE vocabularies openai-whisper ships beside its code (`whisper/assets/gpt2.tiktoken`
/// and `multilingual.tiktoken`, MIT licence, copied into kdq's resources with that licence).
/// OpenAI checkpoints carry no tokenizer; whisper.cpp's converter reads these files, and kdq
/// supplies the one a checkpoint's vocabulary size implies: 51,864 English-only, 51,865
/// multilingual, 51,866 (large-v3, turbo) multilingual with Cantonese.
public enum OpenAIVocabulary {
    /// The tokenizer material for a release vocabulary size — the BPE tokens by rank (raw
    /// bytes, as whisper.cpp's files hold them; the special tokens follow from the size) — or
    /// nil for a size no release has.
    public static func material(nVocab: Int) throws -> TokenizerMaterial? {
        guard let eot = WhisperVocabulary.endOfText(nVocab: nVocab) else { return nil }
        let name = eot == 50256 ? "gpt2" : "multilingual"
        guard let url = Bundle.module.url(forResource: name, withExtension: "tiktoken"), let data = FileManager.default.contents(atPath: url.path) else {
            throw FormatError(.io, "the \(name).tiktoken vocabulary is missing from kdq's resources", path: Bundle.module.bundlePath)
        }
        let tokens = try parse(data, path: url.path)
        guard tokens.count == eot else {
            throw FormatError(.badHeader, "\(tokens.count) BPE tokens, expected \(eot) for a vocabulary of \(nVocab)", path: url.path)
        }
        return TokenizerMaterial(vocabulary: tokens, specialTokens: TokenizerMaterial.specialTokens(in: tokens))
    }

    /// A tiktoken file: one `base64-token rank` line per token, ranks 0, 1, 2, … in order.
    static func parse(_ data: Data, path: String) throws -> [[UInt8]] {
        var tokens: [[UInt8]] = []
        for (n, line) in data.split(separator: 0x0A).enumerated() where !line.isEmpty {
            let fields = line.split(separator: 0x20)
            // "=" is the empty token (rank 50256 of the multilingual file), which Python's
            // lenient base64 decodes and Foundation's does not.
            guard fields.count == 2, let token = fields[0].allSatisfy({ $0 == 0x3D }) ? Data() : Data(base64Encoded: Data(fields[0])),
                  Int(String(decoding: fields[1], as: UTF8.self)) == tokens.count else {
                throw FormatError(.badHeader, "line \(n + 1) is not '<base64 token> \(tokens.count)'", path: path)
            }
            tokens.append(Array(token))
        }
        return tokens
    }
}
