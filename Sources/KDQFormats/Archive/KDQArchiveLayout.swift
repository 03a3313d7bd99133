import KDQJSON

/// Names and constants of the `.kdq` archive (see formats/kdq.md).
public enum KDQArchiveLayout {
    /// The manifest's `format` value.
    public static let formatName = "whisper-kdq"
    /// The version this code writes and the newest it reads.
    public static let formatVersion = 1
    public static let manifest = "manifest.json"
    public static let digest = "kdq.sha256"
    /// Tokenizer members are zstd-compressed: they are read whole, never memory-mapped.
    public static let vocabulary = "tokenizer/vocabulary.bin.zst"
    public static let tokenizerJSON = "tokenizer/tokenizer.json.zst"
    public static let melFilters = "mel_filters.bin"

    /// The member holding a tensor's encoded bytes.
    public static func tensorMember(_ name: String) -> String { "tensors/" + name }
    /// The member holding an int8-rows tensor's f32 row scales.
    public static func scalesMember(_ name: String) -> String { "tensors/" + name + ".scales" }

    /// The manifest member's bytes: compact JSON (a guided plan's record is a few hundred
    /// kilobytes; indentation would add two fifths to it inside a size budget) and a newline.
    public static func manifestBytes(_ manifest: JSONValue) -> [UInt8] {
        Array(manifest.serialized().utf8) + [0x0A]
    }

    /// The compression record sections every manifest reserves (null until a step fills them).
    public static let compressionSections = ["layer_map", "encodings", "error_profiles", "evaluation"]
}

/// This tool's version, recorded in every archive it writes.
public let kdqVersion = "0.1.0"
