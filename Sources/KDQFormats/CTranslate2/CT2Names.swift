/// How CTranslate2's Whisper variables map onto canonical names. Fused projections map to
/// several canonical tensors; the zero key bias of a fused projection is dropped.
enum CT2Names {
    /// A CTranslate2 module and the canonical tensors its weight and bias rows split into.
    /// `parts` lists, in row order, the canonical module of each equal block of rows;
    /// `biasless` marks the part whose bias is dropped (the key projection).
    struct Module {
        let parts: [String]
        let biasless: Int?
    }

    /// The canonical module(s) for a CTranslate2 module path (the variable name without its
    /// last component), or nil if it is not a Whisper module.
    static func module(_ ct2: String) -> Module? {
        let single: [String: String] = [
            "encoder/conv1": "encoder.conv1", "encoder/conv2": "encoder.conv2",
            "encoder/layer_norm": "encoder.ln_post", "decoder/layer_norm": "decoder.ln",
        ]
        if let s = single[ct2] { return Module(parts: [s], biasless: nil) }
        let parts = ct2.split(separator: "/").map(String.init)
        guard parts.count >= 3, parts[0] == "encoder" || parts[0] == "decoder", parts[1].hasPrefix("layer_"),
              let index = Int(parts[1].dropFirst(6)) else { return nil }
        let block = "\(parts[0]).blocks.\(index)."
        switch parts.dropFirst(2).joined(separator: "/") {
        case "self_attention/layer_norm": return Module(parts: [block + "attn_ln"], biasless: nil)
        case "self_attention/linear_0":
            return Module(parts: [block + "attn.query", block + "attn.key", block + "attn.value"], biasless: 1)
        case "self_attention/linear_1": return Module(parts: [block + "attn.out"], biasless: nil)
        case "attention/layer_norm" where parts[0] == "decoder": return Module(parts: [block + "cross_attn_ln"], biasless: nil)
        case "attention/linear_0" where parts[0] == "decoder": return Module(parts: [block + "cross_attn.query"], biasless: nil)
        case "attention/linear_1" where parts[0] == "decoder":
            return Module(parts: [block + "cross_attn.key", block + "cross_attn.value"], biasless: 0)
        case "attention/linear_2" where parts[0] == "decoder": return Module(parts: [block + "cross_attn.out"], biasless: nil)
        case "ffn/layer_norm": return Module(parts: [block + "mlp_ln"], biasless: nil)
        case "ffn/linear_0": return Module(parts: [block + "mlp.0"], biasless: nil)
        case "ffn/linear_1": return Module(parts: [block + "mlp.2"], biasless: nil)
        default: return nil
        }
    }

    /// Whole-variable renames that are not module/parameter pairs.
    static let variables: [String: String] = [
        "encoder/position_encodings/encodings": "encoder.positional_embedding",
        "decoder/position_encodings/encodings": "decoder.positional_embedding",
        "decoder/embeddings/weight": "decoder.token_embedding.weight",
    ]

    /// CTranslate2 parameter names → canonical parameter names.
    static let parameters: [String: String] = ["weight": "weight", "bias": "bias", "gamma": "weight", "beta": "bias"]
}
