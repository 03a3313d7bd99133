import KDQTensor
import KDQJSON

/// The tokenizer files beside a CTranslate2 model: `vocabulary.json` (a JSON list) or
/// `vocabulary.txt` (one token a line), and `tokenizer.json`.
enum CT2Vocabulary {
    static func load(directory: String) throws -> TokenizerMaterial {
        var material = TokenizerMaterial(spelling: .byteLevel)
        let jsonPath = directory + "/vocabulary.json", textPath = directory + "/vocabulary.txt"
        if let bytes = try FileBytes.readIfPresent(jsonPath) {
            guard let list = try parseJSON(bytes, path: jsonPath).arrayValue else {
                throw FormatError(.badHeader, "expected a JSON list of token strings", path: jsonPath)
            }
            material.vocabulary = try list.enumerated().map { i, v in
                guard let s = v.stringValue else { throw FormatError(.badHeader, "token \(i) is not a string", path: jsonPath) }
                return Array(s.utf8)
            }
        } else if let bytes = try FileBytes.readIfPresent(textPath) {
            var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
            if lines.last?.isEmpty == true { lines.removeLast() }
            material.vocabulary = lines
        }
        material.tokenizerJSON = try FileBytes.readIfPresent(directory + "/tokenizer.json")
        if let vocabulary = material.vocabulary { material.specialTokens = TokenizerMaterial.specialTokens(in: vocabulary) }
        return material
    }
}
