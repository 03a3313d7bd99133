import KDQJSON
import KDQTensor

/// The source formats `kdq` reads.
public enum CheckpointFormat: String, Sendable, CaseIterable {
    case openaiPT = "openai-pt"
    case huggingFaceSafetensors = "hf-safetensors"
    case huggingFacePyTorch = "hf-pytorch-bin"
    case ggml = "ggml"
    case ctranslate2 = "ctranslate2"
    case kdq = "kdq"
}

/// Where a checkpoint came from. The SHA-256 covers the main weights file and is computed
/// on first use, so opening a model for its headers stays fast.
public final class Provenance: @unchecked Sendable {
    public let format: CheckpointFormat
    /// The path the user gave (file or directory).
    public let path: String
    /// The file holding the weights.
    public let weightsFile: MappedFile
    /// Its size in bytes.
    public var size: Int { weightsFile.bytes.count }

    private let lock = NSLockLite()
    private var cachedSHA256: String?

    public init(format: CheckpointFormat, path: String, weightsFile: MappedFile) {
        self.format = format
        self.path = path
        self.weightsFile = weightsFile
    }

    /// SHA-256 of the weights file, in hex.
    public var sha256: String {
        lock.withLock {
            if let cachedSHA256 { return cachedSHA256 }
            let h = SHA256Hasher.hex(weightsFile.bytes)
            cachedSHA256 = h
            return h
        }
    }
}

/// How the strings of a vocabulary are spelled.
public enum VocabularySpelling: String, Sendable {
    /// The token's decoded bytes (whisper.cpp's ggml vocabulary).
    case bytes
    /// GPT-2 byte-level BPE symbols, e.g. `Ġthe` (CTranslate2's vocabulary file, tokenizer.json).
    case byteLevel = "byte-level"
}

/// Tokenizer material a checkpoint carries: whichever of these the source had.
public struct TokenizerMaterial: Sendable {
    /// Token strings by id (see `spelling`).
    public var vocabulary: [[UInt8]]?
    /// How `vocabulary` spells its tokens.
    public var spelling: VocabularySpelling
    /// A Hugging Face `tokenizer.json`, verbatim.
    public var tokenizerJSON: [UInt8]?
    /// Special tokens found in the vocabulary or the config (`<|endoftext|>` → id).
    public var specialTokens: [String: Int]

    public init(vocabulary: [[UInt8]]? = nil, spelling: VocabularySpelling = .bytes, tokenizerJSON: [UInt8]? = nil,
                specialTokens: [String: Int] = [:]) {
        self.vocabulary = vocabulary
        self.spelling = spelling
        self.tokenizerJSON = tokenizerJSON
        self.specialTokens = specialTokens
    }

    /// True when nothing was found.
    public var isEmpty: Bool { vocabulary == nil && tokenizerJSON == nil && specialTokens.isEmpty }

    /// Collects `<|…|>` tokens (other than timestamps) from a vocabulary.
    static func specialTokens(in vocabulary: [[UInt8]]) -> [String: Int] {
        var out: [String: Int] = [:]
        for (id, bytes) in vocabulary.enumerated() where bytes.count > 4 && bytes.starts(with: [0x3C, 0x7C]) && bytes.suffix(2) == [0x7C, 0x3E] {
            let token = String(decoding: bytes, as: UTF8.self)
            if token.dropFirst(2).first?.isNumber == true { continue }
            out[token] = id
        }
        return out
    }
}

/// The log-mel filterbank a checkpoint carries (whisper.cpp files do): `nMels × nFrequencies`.
public struct MelFilters: Sendable {
    public let nMels: Int
    public let nFrequencies: Int
    public let values: [Float]

    public init(nMels: Int, nFrequencies: Int, values: [Float]) {
        self.nMels = nMels
        self.nFrequencies = nFrequencies
        self.values = values
    }
}

/// One Whisper model in canonical form: dims, tensors under openai-whisper names (in any
/// encoding, usually viewing the source file in place), tokenizer material, mel filters
/// and where it came from.
public struct Checkpoint: Sendable {
    public var dims: ModelDims
    /// Tensors in canonical order (see `CanonicalNames`), then any extras by name.
    public internal(set) var tensors: [(name: String, tensor: Tensor)]
    public var tokenizer: TokenizerMaterial
    public var melFilters: MelFilters?
    /// Decoding settings from the source's side files.
    public var generation: GenerationSettings
    /// The manifest of the `.kdq` archive this checkpoint was read from, whose provenance and
    /// compression record a new archive carries forward.
    public var archiveManifest: JSONObject?
    public let provenance: Provenance

    /// Orders `tensors` canonically and checks that every expected tensor is present with the
    /// shape the dims imply.
    public init(dims: ModelDims, tensors: [String: Tensor], tokenizer: TokenizerMaterial, melFilters: MelFilters?,
                generation: GenerationSettings = GenerationSettings(), provenance: Provenance) throws {
        var remaining = tensors
        var ordered: [(String, Tensor)] = []
        // Visited lazily: the first missing tensor stops the walk, so a header declaring a
        // huge layer count costs no more than the tensors the file holds.
        // A vocabulary-trimmed model's embedding has a row per kept token (`VocabularySubset`).
        let keptTokens = tensors[VocabularySubset.tensorName]?.shape.first
        try CanonicalNames.visitExpected(dims) { name, expectedShape in
            var shape = expectedShape
            if name == "decoder.token_embedding.weight", let keptTokens { shape[0] = keptTokens }
            guard let t = remaining.removeValue(forKey: name) else {
                let blocks = name.hasPrefix("encoder.blocks.") ? " (n_audio_layer is \(dims.nAudioLayer))"
                    : name.hasPrefix("decoder.blocks.") ? " (n_text_layer is \(dims.nTextLayer))" : ""
                throw FormatError(.missingTensor, "required tensor is missing\(blocks)", path: provenance.path, tensor: name)
            }
            guard t.shape == shape else {
                throw FormatError(.shapeMismatch, "shape \(t.shape) does not match \(shape) implied by the dims",
                                  path: provenance.path, tensor: name)
            }
            ordered.append((name, t))
        }
        for name in remaining.keys.sorted() { ordered.append((name, remaining[name]!)) }
        if let kept = tensors[VocabularySubset.tensorName] {
            do { _ = try VocabularySubset(tensor: kept, vocabularySize: dims.nVocab) } catch var error as FormatError {
                error.path = provenance.path
                throw error
            }
        }
        self.dims = dims
        self.tensors = ordered
        self.tokenizer = tokenizer
        self.melFilters = melFilters
        self.generation = generation
        self.provenance = provenance
    }

    /// The tensor named `name`, if present.
    public func tensor(named name: String) -> Tensor? {
        tensors.first { $0.name == name }?.tensor
    }

    /// Total number of elements over all tensors.
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.tensor.elementCount } }

    /// Total bytes of tensor data (including row scales).
    public var tensorBytes: Int { tensors.reduce(0) { $0 + $1.tensor.byteCount } }

    /// Bytes of tensor data per encoding.
    public var bytesByEncoding: [(encoding: Encoding, tensors: Int, bytes: Int)] {
        var map: [Encoding: (Int, Int)] = [:]
        for (_, t) in tensors {
            let v = map[t.encoding] ?? (0, 0)
            map[t.encoding] = (v.0 + 1, v.1 + t.byteCount)
        }
        return map.keys.sorted().map { ($0, map[$0]!.0, map[$0]!.1) }
    }
}
