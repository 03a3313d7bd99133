/// Whisper's hyper-parameters, as in openai-whisper's `ModelDimensions`.
public struct ModelDims: Equatable, Sendable, Codable {
    public var nMels: Int
    public var nAudioCtx: Int
    public var nAudioState: Int
    public var nAudioHead: Int
    public var nAudioLayer: Int
    public var nVocab: Int
    public var nTextCtx: Int
    public var nTextState: Int
    public var nTextHead: Int
    public var nTextLayer: Int

    public init(nMels: Int, nAudioCtx: Int, nAudioState: Int, nAudioHead: Int, nAudioLayer: Int,
                nVocab: Int, nTextCtx: Int, nTextState: Int, nTextHead: Int, nTextLayer: Int) {
        self.nMels = nMels
        self.nAudioCtx = nAudioCtx
        self.nAudioState = nAudioState
        self.nAudioHead = nAudioHead
        self.nAudioLayer = nAudioLayer
        self.nVocab = nVocab
        self.nTextCtx = nTextCtx
        self.nTextState = nTextState
        self.nTextHead = nTextHead
        self.nTextLayer = nTextLayer
    }

    /// The fields under openai-whisper's names, in its dataclass order.
    public var namedValues: [(String, Int)] {
        [("n_mels", nMels), ("n_audio_ctx", nAudioCtx), ("n_audio_state", nAudioState), ("n_audio_head", nAudioHead),
         ("n_audio_layer", nAudioLayer), ("n_vocab", nVocab), ("n_text_ctx", nTextCtx), ("n_text_state", nTextState),
         ("n_text_head", nTextHead), ("n_text_layer", nTextLayer)]
    }

    /// Builds dims from openai-whisper's field names; nil names the first missing field.
    public init(named lookup: (String) -> Int?) throws {
        func need(_ key: String) throws -> Int {
            guard let v = lookup(key), v >= 0 else { throw FormatError(.badHeader, "dims lack a non-negative '\(key)'") }
            return v
        }
        self.init(nMels: try need("n_mels"), nAudioCtx: try need("n_audio_ctx"), nAudioState: try need("n_audio_state"),
                  nAudioHead: try need("n_audio_head"), nAudioLayer: try need("n_audio_layer"), nVocab: try need("n_vocab"),
                  nTextCtx: try need("n_text_ctx"), nTextState: try need("n_text_state"), nTextHead: try need("n_text_head"),
                  nTextLayer: try need("n_text_layer"))
    }

    /// False for the English-only vocabularies (`*.en`).
    public var isMultilingual: Bool { nVocab >= 51865 }

    /// The release this shape matches, if any (e.g. "tiny", "base", "large-v3").
    public var modelSizeName: String? {
        let sizes = [(384, 4, "tiny"), (512, 6, "base"), (768, 12, "small"), (1024, 24, "medium"), (1280, 32, "large")]
        guard let s = sizes.first(where: { $0.0 == nAudioState && $0.1 == nAudioLayer }) else { return nil }
        if s.2 == "large" && nTextLayer == 4 { return "large-v3-turbo" }
        if s.2 == "large" && nVocab == 51866 { return "large-v3" }
        return isMultilingual ? s.2 : s.2 + ".en"
    }
}
