/// Renames between Hugging Face `WhisperForConditionalGeneration` names and canonical
/// openai-whisper names (transformers' convert_openai_to_hf.py, both ways).
public enum HuggingFaceNames {
    /// Whole-name renames outside the layer blocks: (canonical, hf without `model.`).
    static let topLevel: [(String, String)] = [
        ("encoder.positional_embedding", "encoder.embed_positions.weight"),
        ("decoder.positional_embedding", "decoder.embed_positions.weight"),
        ("decoder.token_embedding.weight", "decoder.embed_tokens.weight"),
        ("encoder.ln_post.weight", "encoder.layer_norm.weight"), ("encoder.ln_post.bias", "encoder.layer_norm.bias"),
        ("decoder.ln.weight", "decoder.layer_norm.weight"), ("decoder.ln.bias", "decoder.layer_norm.bias"),
    ]

    /// Component renames inside `*.blocks.N.` / `*.layers.N.`: (canonical, hf).
    static let blockParts: [(String, String)] = [
        ("cross_attn_ln", "encoder_attn_layer_norm"), ("attn_ln", "self_attn_layer_norm"), ("mlp_ln", "final_layer_norm"),
        ("cross_attn", "encoder_attn"), ("attn", "self_attn"),
        ("query", "q_proj"), ("key", "k_proj"), ("value", "v_proj"), ("out", "out_proj"),
        ("mlp.0", "fc1"), ("mlp.2", "fc2"),
    ]

    /// The canonical name of a Hugging Face tensor name (with or without the `model.` prefix).
    /// Canonical names map to themselves.
    public static func canonical(_ hf: String) -> String {
        let name = hf.hasPrefix("model.") ? String(hf.dropFirst(6)) : hf
        if let pair = topLevel.first(where: { $0.1 == name }) { return pair.0 }
        let parts = name.split(separator: ".", maxSplits: 3).map(String.init)
        guard parts.count == 4, parts[1] == "layers" else { return name }
        return [parts[0], "blocks", parts[2], rename(parts[3], from: \.1, to: \.0)].joined(separator: ".")
    }

    /// The Hugging Face name (with `model.`) of a canonical tensor name.
    public static func huggingFace(_ canonical: String) -> String {
        if let pair = topLevel.first(where: { $0.0 == canonical }) { return "model." + pair.1 }
        let parts = canonical.split(separator: ".", maxSplits: 3).map(String.init)
        guard parts.count == 4, parts[1] == "blocks" else { return "model." + canonical }
        return "model." + [parts[0], "layers", parts[2], rename(parts[3], from: \.0, to: \.1)].joined(separator: ".")
    }

    /// Renames the module path of `rest` (e.g. `self_attn.q_proj.weight`) component by component.
    private static func rename(_ rest: String, from: KeyPath<(String, String), String>, to: KeyPath<(String, String), String>) -> String {
        var remaining = Substring(rest)
        var out: [String] = []
        while !remaining.isEmpty {
            if let pair = blockParts.first(where: { remaining == $0[keyPath: from] || remaining.hasPrefix($0[keyPath: from] + ".") }) {
                out.append(pair[keyPath: to])
                remaining = remaining.dropFirst(pair[keyPath: from].count)
            } else {
                let end = remaining.firstIndex(of: ".") ?? remaining.endIndex
                out.append(String(remaining[..<end]))
                remaining = remaining[end...]
            }
            if remaining.first == "." { remaining = remaining.dropFirst() }
        }
        return out.joined(separator: ".")
    }
}
