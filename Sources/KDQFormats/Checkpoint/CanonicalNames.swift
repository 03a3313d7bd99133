/// The canonical (openai-whisper) tensor names and shapes for given dims, in the order
/// openai-whisper's `state_dict()` lists them.
public enum CanonicalNames {
    /// The audio encoder's positions: Whisper's sinusoidal table, the one tensor a plan may
    /// store as computed (`Encoding.sinusoids`) and an archive may hold so.
    public static let audioPositions = "encoder.positional_embedding"

    /// Every tensor a complete Whisper checkpoint has: 11 + 15·n_audio_layer + 24·n_text_layer.
    public static func expected(_ d: ModelDims) -> [(name: String, shape: [Int])] {
        var out: [(name: String, shape: [Int])] = []
        visitExpected(d) { out.append(($0, $1)) }
        return out
    }

    /// Calls `body` with every expected tensor in order, without building the list: a caller
    /// that stops at the first one a file lacks does work bounded by the file, not by the
    /// layer counts its header declares.
    public static func visitExpected(_ d: ModelDims, _ body: (String, [Int]) throws -> Void) rethrows {
        let s = d.nAudioState, t = d.nTextState
        func each(_ list: [(String, [Int])]) throws { for (name, shape) in list { try body(name, shape) } }
        try each([("encoder.positional_embedding", [d.nAudioCtx, s]),
                  ("encoder.conv1.weight", [s, d.nMels, 3]), ("encoder.conv1.bias", [s]),
                  ("encoder.conv2.weight", [s, s, 3]), ("encoder.conv2.bias", [s])])
        for i in 0..<d.nAudioLayer {
            let p = "encoder.blocks.\(i)."
            try each(attention(p + "attn", s) + [(p + "attn_ln.weight", [s]), (p + "attn_ln.bias", [s])] + mlp(p, s))
        }
        try each([("encoder.ln_post.weight", [s]), ("encoder.ln_post.bias", [s]),
                  ("decoder.positional_embedding", [d.nTextCtx, t]), ("decoder.token_embedding.weight", [d.nVocab, t])])
        for i in 0..<d.nTextLayer {
            let p = "decoder.blocks.\(i)."
            try each(attention(p + "attn", t) + [(p + "attn_ln.weight", [t]), (p + "attn_ln.bias", [t])]
                + attention(p + "cross_attn", t) + [(p + "cross_attn_ln.weight", [t]), (p + "cross_attn_ln.bias", [t])] + mlp(p, t))
        }
        try each([("decoder.ln.weight", [t]), ("decoder.ln.bias", [t])])
    }

    private static func attention(_ p: String, _ n: Int) -> [(String, [Int])] {
        [(p + ".query.weight", [n, n]), (p + ".query.bias", [n]), (p + ".key.weight", [n, n]),
         (p + ".value.weight", [n, n]), (p + ".value.bias", [n]), (p + ".out.weight", [n, n]), (p + ".out.bias", [n])]
    }

    private static func mlp(_ p: String, _ n: Int) -> [(String, [Int])] {
        [(p + "mlp.0.weight", [4 * n, n]), (p + "mlp.0.bias", [4 * n]), (p + "mlp.2.weight", [n, 4 * n]),
         (p + "mlp.2.bias", [n]), (p + "mlp_ln.weight", [n]), (p + "mlp_ln.bias", [n])]
    }

    /// True for the matrices whisper.cpp stores in the model's weight type and quantizes:
    /// the 2-D weights of linear layers and the token embedding (not positional embeddings,
    /// conv weights, biases or norms).
    public static func isMatrixWeight(_ name: String, shape: [Int]) -> Bool {
        shape.count == 2 && name.hasSuffix(".weight")
    }

    /// The layer a tensor belongs to, for per-layer summaries: `encoder.blocks.3`,
    /// `decoder.blocks.0`, or the top-level module (`encoder.conv1`, `decoder.token_embedding`).
    public static func layer(of name: String) -> String {
        let parts = name.split(separator: ".")
        if parts.count >= 3, parts[1] == "blocks" { return parts[0...2].joined(separator: ".") }
        if parts.count >= 2 { return parts[0...1].joined(separator: ".") }
        return name
    }
}
