import KDQTensor

extension Checkpoint {
    /// Tokens a vocabulary-trimmed model keeps (the length of `decoder.kept_token_ids`), nil when it keeps all.
    public var keptTokenCount: Int? { tensor(named: VocabularySubset.tensorName)?.elementCount }

    /// This model with its token embedding reduced to the rows of `subset`'s tokens (bytes
    /// copied as stored, whatever the encoding) and the kept-id tensor added: a model that
    /// can read and write only those tokens (`VocabularySubset`).
    public func trimmingVocabulary(to subset: VocabularySubset) throws -> Checkpoint {
        let name = "decoder.token_embedding.weight"
        guard keptTokenCount == nil else {
            throw FormatError(.unsupported, "the vocabulary is trimmed already", path: provenance.path, tensor: VocabularySubset.tensorName)
        }
        guard subset.vocabularySize == dims.nVocab else {
            throw FormatError(.shapeMismatch, "a subset of \(subset.vocabularySize) tokens for a vocabulary of \(dims.nVocab)", path: provenance.path)
        }
        guard let embedding = tensor(named: name), embedding.shape.count == 2, embedding.shape[0] == dims.nVocab,
              let source = embedding.data.bytes.baseAddress else {
            throw FormatError(.missingTensor, "no [\(dims.nVocab), width] token embedding", path: provenance.path, tensor: name)
        }
        let width = embedding.shape[1]
        let rowBytes = try embedding.encoding.byteCount(elements: width)
        func gather(_ from: UnsafeRawPointer, _ bytes: Int) -> Storage {
            Storage(count: subset.count * bytes) { out in
                for (row, id) in subset.ids.enumerated() {
                    out.baseAddress!.advanced(by: row * bytes).copyMemory(from: from.advanced(by: id * bytes), byteCount: bytes)
                }
            }
        }
        let scales = embedding.scales.flatMap { $0.bytes.baseAddress }.map { gather($0, 4) }
        var tensors = Dictionary(uniqueKeysWithValues: self.tensors.map { ($0.name, $0.tensor) })
        tensors[name] = try Tensor(shape: [subset.count, width], encoding: embedding.encoding, data: gather(source, rowBytes), scales: scales)
        tensors[VocabularySubset.tensorName] = try subset.tensor
        var trimmed = try Checkpoint(dims: dims, tensors: tensors, tokenizer: tokenizer, melFilters: melFilters, generation: generation,
                                     provenance: provenance)
        trimmed.archiveManifest = archiveManifest
        return trimmed
    }
}
