import KDQTensor

/// Reads whisper.cpp's legacy ggml model file: header, mel filters, vocabulary, then tensor
/// records until the end. Tensors stay in their block encodings, viewed in the mapped file.
enum GGMLReader {
    static let magic: UInt32 = 0x6767_6D6C

    static func read(file: MappedFile, path: String) throws -> Checkpoint {
        var r = ByteReader(file.bytes, path: path)
        let m = try r.u32("magic")
        guard m == magic else {
            throw FormatError(.badMagic, "expected ggml magic 0x67676d6c, found 0x\(String(m, radix: 16))", path: path, offset: 0)
        }
        var header: [Int] = []
        for field in ["n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer",
                      "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels"] {
            let at = r.offset
            let v = try r.count32(field)
            guard v > 0 else { throw FormatError(.badHeader, "\(field) must be positive, found \(v)", path: path, offset: at) }
            header.append(v)
        }
        let dims = ModelDims(nMels: header[9], nAudioCtx: header[1], nAudioState: header[2], nAudioHead: header[3],
                             nAudioLayer: header[4], nVocab: header[0], nTextCtx: header[5], nTextState: header[6],
                             nTextHead: header[7], nTextLayer: header[8])
        _ = try r.i32("ftype")
        let filters = try readMelFilters(&r)
        let vocabulary = try readVocabulary(&r)
        var tensors: [String: Tensor] = [:]
        while !r.isAtEnd {
            let (name, tensor) = try readTensor(&r, file: file)
            guard tensors[name] == nil else {
                throw FormatError(.badHeader, "tensor appears twice", path: path, offset: r.offset, tensor: name)
            }
            tensors[name] = tensor
        }
        let provenance = Provenance(format: .ggml, path: path, weightsFile: file)
        let tokenizer = TokenizerMaterial(vocabulary: vocabulary, specialTokens: TokenizerMaterial.specialTokens(in: vocabulary))
        return try Checkpoint(dims: dims, tensors: tensors, tokenizer: tokenizer, melFilters: filters, provenance: provenance)
    }

    private static func readMelFilters(_ r: inout ByteReader) throws -> MelFilters {
        let nMel = try r.count32("mel filter count")
        let nFFT = try r.count32("mel filter width")
        let count = try Checked.multiply(nMel, nFFT, "mel filter size")
        let range = try r.range(try Checked.multiply(count, 4, "mel filter bytes"), "mel filters")
        let values = (0..<count).map { r.bytes.loadUnaligned(fromByteOffset: range.lowerBound + 4 * $0, as: Float.self) }
        return MelFilters(nMels: nMel, nFrequencies: nFFT, values: values)
    }

    private static func readVocabulary(_ r: inout ByteReader) throws -> [[UInt8]] {
        let count = try r.count32("vocabulary size")
        var tokens: [[UInt8]] = []
        tokens.reserveCapacity(Swift.min(count, r.remaining / 4))
        for i in 0..<count {
            let length = try Checked.int(try r.u32("length of token \(i)"), "length of token \(i)")
            tokens.append(try r.bytes(length, "token \(i)"))
        }
        return tokens
    }

    private static func readTensor(_ r: inout ByteReader, file: MappedFile) throws -> (String, Tensor) {
        let start = r.offset
        let nDims = try r.count32("tensor rank")
        let nameLength = try r.count32("tensor name length")
        let typeCode = try r.i32("tensor type")
        guard (1...4).contains(nDims) else {
            throw FormatError(.badHeader, "tensor rank must be 1 to 4, found \(nDims)", path: r.path, offset: start)
        }
        guard nameLength <= 4096 else {
            throw FormatError(.badHeader, "tensor name length \(nameLength) exceeds 4096", path: r.path, offset: start)
        }
        var ne: [Int] = []
        for k in 0..<nDims { ne.append(try r.count32("dimension \(k)")) }
        let name = try r.string(nameLength, "tensor name")
        guard let encoding = GGMLType.encoding(code: typeCode) else {
            throw FormatError(.unsupported, "ggml tensor type \(typeCode) is not supported (f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q2_K … q6_K are)",
                              path: r.path, offset: start, tensor: name)
        }
        var shape = Array(ne.reversed())
        // whisper.cpp stores the conv biases as [S, 1]; canonically they are [S].
        if name.hasSuffix(".bias"), name.hasPrefix("encoder.conv"), shape.count == 2, shape[1] == 1 { shape = [shape[0]] }
        do {
            let n = try Checked.elementCount(shape)
            let byteCount = try encoding.byteCount(elements: n)
            let range = try r.range(byteCount, "data of tensor '\(name)'")
            let tensor = try Tensor(shape: shape, encoding: encoding, data: try Storage(file: file, range: range))
            return (name, tensor)
        } catch {
            throw FormatError.wrapping(error, path: r.path, tensor: name, offset: start)
        }
    }
}
