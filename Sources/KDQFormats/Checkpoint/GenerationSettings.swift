import KDQJSON

/// Decoding settings a checkpoint's side files carry (CTranslate2 and Hugging Face
/// config.json, generation_config.json), kept so that exports can write them again.
public struct GenerationSettings: Sendable, Equatable {
    /// Tokens never sampled (openai-whisper's `suppress_tokens`).
    public var suppressTokens: [Int]?
    /// Tokens not sampled at the first position.
    public var beginSuppressTokens: [Int]?
    /// (layer, head) pairs whose cross-attention aligns with time, for word timestamps.
    public var alignmentHeads: [[Int]]?
    /// The ids of the language tokens.
    public var languageTokenIDs: [Int]?

    public init(suppressTokens: [Int]? = nil, beginSuppressTokens: [Int]? = nil, alignmentHeads: [[Int]]? = nil,
                languageTokenIDs: [Int]? = nil) {
        self.suppressTokens = suppressTokens
        self.beginSuppressTokens = beginSuppressTokens
        self.alignmentHeads = alignmentHeads
        self.languageTokenIDs = languageTokenIDs
    }

    /// True when nothing is known.
    public var isEmpty: Bool { self == GenerationSettings() }

    /// Reads the keys of a CTranslate2 config.json.
    static func fromCTranslate2(_ config: JSONValue?) -> GenerationSettings {
        GenerationSettings(suppressTokens: ints(config?["suppress_ids"]), beginSuppressTokens: ints(config?["suppress_ids_begin"]),
                           alignmentHeads: pairs(config?["alignment_heads"]), languageTokenIDs: ints(config?["lang_ids"]))
    }

    /// Reads a Hugging Face config.json and generation_config.json (the latter wins).
    static func fromHuggingFace(config: JSONValue?, generation: JSONValue?) -> GenerationSettings {
        var s = GenerationSettings()
        for source in [config, generation] {
            s.suppressTokens = ints(source?["suppress_tokens"]) ?? s.suppressTokens
            s.beginSuppressTokens = ints(source?["begin_suppress_tokens"]) ?? s.beginSuppressTokens
            s.alignmentHeads = pairs(source?["alignment_heads"]) ?? s.alignmentHeads
            if let langs = source?["lang_to_id"]?.objectValue { s.languageTokenIDs = langs.entries.compactMap { $0.value.intValue }.sorted() }
        }
        return s
    }

    static func ints(_ v: JSONValue?) -> [Int]? {
        guard let a = v?.arrayValue else { return nil }
        let r = a.compactMap(\.intValue)
        return r.count == a.count ? r : nil
    }

    static func pairs(_ v: JSONValue?) -> [[Int]]? {
        guard let a = v?.arrayValue else { return nil }
        let r = a.compactMap { ints($0) }
        return r.count == a.count ? r : nil
    }
}
