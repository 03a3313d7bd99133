import KDQFormats

extension TokenBatch {
    /// The batch as a vocabulary-trimmed student reads it: every token id replaced by its
    /// embedding row in `subset`. A sequence that reaches a token the student lacks (as input or
    /// as target) is cut there: from that position on nothing is predicted and the inputs are
    /// row 0, which causal attention keeps from touching the positions before.
    public func restricted(to subset: VocabularySubset) throws -> TokenBatch {
        var tokens = tokens, targets = targets
        for b in 0..<batch {
            var cut = false
            for i in (b * length)..<((b + 1) * length) {
                let input = subset.row(of: Int(tokens[i]))
                let target = targets[i] < 0 ? -1 : subset.row(of: Int(targets[i]))  // nil: a target the student lacks
                tokens[i] = Int32(cut ? 0 : input ?? 0)  // the input where the cut falls is still read when kept
                cut = cut || input == nil || target == nil
                targets[i] = cut ? -1 : Int32(target ?? -1)
            }
        }
        return try TokenBatch(batch: batch, length: length, tokens: tokens, targets: targets)
    }
}

extension ParameterStore {
    /// The kept tokens of a vocabulary-trimmed model (`decoder.kept_token_ids`), nil for the whole vocabulary.
    public func vocabularySubset() throws -> VocabularySubset? {
        guard contains(VocabularySubset.tensorName) else { return nil }
        let ids = try array(VocabularySubset.tensorName).map { Int($0) }
        do { return try VocabularySubset(ids: ids, vocabularySize: dims.nVocab) } catch {
            throw TrainingError("\(VocabularySubset.tensorName): \(error)")
        }
    }

    /// Rows of the token embedding: n_vocab, or the kept tokens of a trimmed vocabulary.
    public var embeddingRows: Int {
        get throws { try entry("decoder.token_embedding.weight").shape[0] }
    }
}
