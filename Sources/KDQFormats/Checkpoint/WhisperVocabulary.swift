import KDQJSON

/// Whisper's special tokens, which follow the byte-level BPE tokens in every release
/// (openai-whisper's tokenizer.py): end of text, start of transcript, one token per
/// language, task tokens, then 1501 timestamps `<|0.00|>` … `<|30.00|>`.
public enum WhisperVocabulary {
    /// Language codes in token order; large-v3 (n_vocab 51866) adds "yue". The English-only
    /// Hugging Face vocabularies spell Hebrew "iw".
    public static let languages = [
        "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it", "id", "hi", "fi", "vi",
        "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur", "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk",
        "te", "fa", "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw",
        "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo",
        "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue",
    ]

    /// The id of `<|endoftext|>` for a release vocabulary size (English-only models have
    /// one fewer BPE token), or nil for a size no release has.
    public static func endOfText(nVocab: Int) -> Int? {
        switch nVocab {
        case 51864: return 50256
        case 51865, 51866: return 50257
        default: return nil
        }
    }

    /// The special token strings from `<|endoftext|>` to the last timestamp, or nil when
    /// `nVocab` is not a release size.
    public static func specialTokens(nVocab: Int) -> [String]? {
        guard let eot = endOfText(nVocab: nVocab) else { return nil }
        let languageCount = nVocab == 51866 ? 100 : 99
        var names = ["<|endoftext|>", "<|startoftranscript|>"]
        names += languages.prefix(languageCount).map { "<|\(eot == 50256 && $0 == "he" ? "iw" : $0)|>" }
        names += ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>",
                  "<|nocaptions|>", "<|notimestamps|>"]  // Hugging Face's name, which CTranslate2 files carry
        names += (0...1500).map { i in "<|\(i / 50).\(String(format2: (i % 50) * 2))|>" }
        return eot + names.count == nVocab ? names : nil
    }

    /// The ids of the language tokens among `specialTokens`.
    public static func languageTokenIDs(_ specialTokens: [String: Int]) -> [Int] {
        let codes = Set(languages + ["iw"])
        return specialTokens.filter { codes.contains(String($0.key.dropFirst(2).dropLast(2))) }.map(\.value).sorted()
    }
}

extension String {
    /// Two decimal digits: 4 → "04".
    init(format2 value: Int) { self = value < 10 ? "0\(value)" : "\(value)" }
}

extension TokenizerMaterial {
    /// The vocabulary by id in byte-level spelling, from the vocabulary or else tokenizer.json,
    /// completed with Whisper's special tokens up to `nVocab` when the source listed only
    /// the BPE tokens (as whisper.cpp files do).
    public func completeByteLevelVocabulary(nVocab: Int) -> [[UInt8]]? {
        guard var tokens = byteLevelVocabulary ?? vocabularyFromTokenizerJSON() else { return nil }
        if tokens.count < nVocab, let eot = WhisperVocabulary.endOfText(nVocab: nVocab), tokens.count >= eot,
           let specials = WhisperVocabulary.specialTokens(nVocab: nVocab) {
            tokens = Array(tokens.prefix(eot)) + specials.map { Array($0.utf8) }
        }
        return tokens
    }

    /// The token list of a tokenizer.json (`model.vocab` plus `added_tokens`), by id.
    func vocabularyFromTokenizerJSON() -> [[UInt8]]? {
        guard let bytes = tokenizerJSON, let json = try? JSONValue.parse(bytes),
              let vocab = json["model"]?["vocab"]?.objectValue else { return nil }
        var byID: [Int: String] = [:]
        for (token, id) in vocab.entries { if let id = id.intValue, id >= 0 { byID[id] = token } }
        for added in json["added_tokens"]?.arrayValue ?? [] {
            if let id = added["id"]?.intValue, id >= 0, let content = added["content"]?.stringValue { byID[id] = content }
        }
        guard let last = byID.keys.max(), last == byID.count - 1 else { return nil }
        return (0...last).map { Array(byID[$0]!.utf8) }
    }
}
