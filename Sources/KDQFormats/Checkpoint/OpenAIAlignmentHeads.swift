import Foundation
import KDQJSON

/// openai-whisper's alignment heads (the cross-attention heads that follow time, for word
/// timestamps; MIT, copied into kdq's resources by scripts/make-alignment-heads.py). OpenAI
/// checkpoints do not carry them: openai-whisper picks them by model name, kdq by the release
/// the dims identify. large-v1 and large-v2 share their dims, so neither is guessed.
public enum OpenAIAlignmentHeads {
    /// The (layer, head) pairs of the release model `dims` describe, or nil.
    public static func heads(for dims: ModelDims) throws -> [[Int]]? {
        guard let name = dims.modelSizeName, name != "large" else { return nil }
        guard let url = Bundle.module.url(forResource: "alignment-heads", withExtension: "json"),
              let data = FileManager.default.contents(atPath: url.path) else {
            throw FormatError(.io, "alignment-heads.json is missing from kdq's resources", path: Bundle.module.bundlePath)
        }
        let table = try JSONValue.parse(Array(data))
        return table[name]?.arrayValue?.compactMap { pair in
            pair.arrayValue.map { $0.compactMap(\.intValue) }.flatMap { $0.count == 2 ? $0 : nil }
        }
    }
}
