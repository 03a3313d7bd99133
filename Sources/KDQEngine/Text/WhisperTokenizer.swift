import KDQFormats

/// Whisper's tokenizer from whatever the checkpoint carries (tokenizer.json, a CTranslate2
/// vocabulary, or whisper.cpp's vocabulary completed with the special tokens): token bytes by
/// id, and the ids of the special tokens.
public struct WhisperTokenizer: Sendable {
    /// Each token's bytes (special tokens: their names).
    public let tokens: [[UInt8]]
    public let endOfText: Int
    public let startOfTranscript: Int
    public let transcribe: Int?
    public let translate: Int?
    public let startOfPrevious: Int?
    public let startOfLM: Int?
    public let noSpeech: Int?
    public let noTimestamps: Int?
    /// The id of `<|0.00|>`; timestamps follow at 0.02 s steps.
    public let timestampBegin: Int?
    /// Language code → token id.
    public let languages: [String: Int]
    /// Text → tokens.
    public let encoder: BytePairEncoder
    /// openai-whisper's `non_speech_tokens`, which it suppresses unless told otherwise: the
    /// tokens of symbols that are not speech (brackets, music notes, speaker-turn dashes, …)
    /// alone or after a space.
    public let nonSpeechTokens: [Int]

    public init(_ checkpoint: Checkpoint) throws {
        let nVocab = checkpoint.dims.nVocab
        guard let spelled = checkpoint.tokenizer.completeByteLevelVocabulary(nVocab: nVocab) else {
            throw EngineError(.tokenizer, "the checkpoint carries no vocabulary (no tokenizer.json, vocabulary file or ggml vocabulary)",
                              path: checkpoint.provenance.path)
        }
        var ids: [String: Int] = checkpoint.tokenizer.specialTokens
        for (id, t) in spelled.enumerated() where t.first == 0x3C && t.count > 4 {
            let name = String(decoding: t, as: UTF8.self)
            if name.hasPrefix("<|") && name.hasSuffix("|>") && ids[name] == nil { ids[name] = id }
        }
        tokens = spelled.map { ByteLevelSpelling.unspell($0) ?? $0 }
        guard let eot = ids["<|endoftext|>"] ?? WhisperVocabulary.endOfText(nVocab: nVocab),
              let sot = ids["<|startoftranscript|>"] ?? (WhisperVocabulary.endOfText(nVocab: nVocab).map { $0 + 1 }) else {
            throw EngineError(.tokenizer, "the vocabulary has no <|endoftext|> and <|startoftranscript|>", path: checkpoint.provenance.path)
        }
        endOfText = eot
        startOfTranscript = sot
        transcribe = ids["<|transcribe|>"]
        translate = ids["<|translate|>"]
        startOfPrevious = ids["<|startofprev|>"]
        startOfLM = ids["<|startoflm|>"]
        noSpeech = ids["<|nospeech|>"] ?? ids["<|nocaptions|>"]
        noTimestamps = ids["<|notimestamps|>"]
        timestampBegin = ids["<|0.00|>"]
        var languages: [String: Int] = [:]
        for code in WhisperVocabulary.languages + ["iw"] { if let id = ids["<|\(code)|>"] { languages[code == "iw" ? "he" : code] = id } }
        self.languages = languages
        encoder = BytePairEncoder(byteLevelVocabulary: spelled, bpeTokens: eot)
        nonSpeechTokens = Self.nonSpeech(encoder)
    }

    /// The tokens of `text`.
    public func encode(_ text: String) throws -> [Int] { try encoder.encode(text) }

    /// The non-speech tokens by openai-whisper's rule (`Tokenizer.non_speech_tokens`, MIT):
    /// each symbol's token when it encodes to one token, alone or after a space; a music
    /// symbol's first token whatever it encodes to; and the tokens of " -" and " '".
    static func nonSpeech(_ encoder: BytePairEncoder) -> [Int] {
        let symbols = "\"#()*+/:;<=>@[\\]^_`{|}~「」『』".map { String($0) }
            + "<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪".split(separator: " ").map(String.init)
        let music = "♩♪♫♬♭♮♯".map { String($0) }
        var result = Set([" -", " '"].compactMap { try? encoder.encode($0).first })
        for symbol in symbols + music {
            for text in [symbol, " " + symbol] {
                guard let tokens = try? encoder.encode(text), let first = tokens.first else { continue }
                if tokens.count == 1 || music.contains(symbol) { result.insert(first) }
            }
        }
        return result.sorted()
    }

    /// True when the vocabulary has language tokens (multilingual models).
    public var isMultilingual: Bool { tokens.count >= 51865 }

    /// The prompt: start of transcript, then (multilingual models) language and task.
    public func startSequence(language: String?, task: WhisperTask) throws -> [Int] {
        var seq = [startOfTranscript]
        guard isMultilingual else { return seq }
        let code = language ?? "en"
        guard let lang = languages[code] else { throw EngineError(.decoding, "unknown language '\(code)'") }
        seq.append(lang)
        if let t = task == .transcribe ? transcribe : translate { seq.append(t) }
        return seq
    }

    /// The text of `ids`, leaving out special and timestamp tokens.
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < endOfText && id < tokens.count { bytes += tokens[id] }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// One token as people read it: its text, or the special token's name (`<|endoftext|>`,
    /// `<|en|>`, `<|0.42|>`, …).
    public func label(_ id: Int) -> String {
        if id >= 0 && id < endOfText && id < tokens.count { return decode([id]) }
        if let t = timestamp(id) { return "<|" + String(format: "%.2f", t) + "|>" }
        let named: [(Int?, String)] = [(endOfText, "endoftext"), (startOfTranscript, "startoftranscript"), (transcribe, "transcribe"),
                                       (translate, "translate"), (startOfPrevious, "startofprev"), (startOfLM, "startoflm"),
                                       (noSpeech, "nospeech"), (noTimestamps, "notimestamps")]
        if let name = named.first(where: { $0.0 == id })?.1 ?? languages.first(where: { $0.value == id })?.key { return "<|\(name)|>" }
        return "<|\(id)|>"
    }

    /// Seconds of a timestamp token, or nil for other tokens.
    public func timestamp(_ id: Int) -> Double? {
        guard let begin = timestampBegin, id >= begin else { return nil }
        return Double(id - begin) * 0.02
    }
}

/// What the decoder is asked to do.
public enum WhisperTask: String, Sendable, CaseIterable {
    case transcribe, translate
}
