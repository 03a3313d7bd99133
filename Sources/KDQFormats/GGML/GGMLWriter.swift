import KDQTensor

/// Writes a whisper.cpp model file with the tensor types whisper.cpp's loader expects:
/// one weight type for the linear weights and token embedding (the archive's block
/// encodings copied as they are), f16 conv weights (f32 in an all-f32 model), and f32
/// biases, norms and positional embeddings; plus the mel filters and the vocabulary.
public enum GGMLWriter {
    /// The header's ftype for a weight type (ggml_ftype; quantized files add 2000, as
    /// whisper.cpp's quantizer writes GGML_QNT_VERSION 2).
    static func ftype(_ weightType: Encoding) -> Int32 {
        switch weightType {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2002
        case .q4_1: return 2003
        case .q8_0: return 2007
        case .q5_0: return 2008
        case .q5_1: return 2009
        case .q2_K: return 2010
        case .q3_K: return 2011
        case .q4_K: return 2012
        case .q5_K: return 2013
        case .q6_K: return 2014
        default: return 1
        }
    }

    /// The encoding whisper.cpp can hold for a weight-type tensor, and why it changed.
    static func weightEncoding(_ e: Encoding) -> (Encoding, String?) {
        switch e {
        case .f32, .f16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q6_K, .q5_K, .q4_K, .q3_K, .q2_K: return (e, nil)
        case .int8Rows: return (.q8_0, "whisper.cpp has no int8-rows type; q8_0 is its 8-bit block type")
        default: return (.f16, "whisper.cpp weights are f32, f16 or ggml blocks")
        }
    }

    /// Writes `checkpoint` to `path`.
    public static func write(_ c: Checkpoint, to path: String) throws -> ExportReport {
        try c.requireVocabulary(for: "whisper.cpp", output: path)
        var report = ExportReport()
        let weights = c.tensors.filter { CanonicalNames.isMatrixWeight($0.name, shape: $0.tensor.shape) }
        var counts: [Encoding: Int] = [:]
        for (_, t) in weights { counts[weightEncoding(t.encoding).0, default: 0] += 1 }
        let weightType = counts.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key ?? .f16
        let convType: Encoding = weightType == .f32 ? .f32 : .f16

        try AtomicOutput.produce(path) { output in
            let sink = try FileSink(creating: output.temporaryPath)
            try sink.write(le: GGMLReader.magic)
            let d = c.dims
            for v in [d.nVocab, d.nAudioCtx, d.nAudioState, d.nAudioHead, d.nAudioLayer, d.nTextCtx, d.nTextState, d.nTextHead, d.nTextLayer, d.nMels] {
                try sink.write(le: Int32(v))
            }
            try sink.write(le: ftype(weightType))
            let mel = c.melFilters ?? MelFilters.slaney(nMels: d.nMels)
            if c.melFilters == nil { report.omitted("the source has no mel filters: wrote librosa's slaney filterbank for \(d.nMels) bins, as openai-whisper ships it") }
            try sink.write(le: Int32(mel.nMels))
            try sink.write(le: Int32(mel.nFrequencies))
            try mel.values.withUnsafeBytes { try sink.write($0) }
            try writeVocabulary(c, sink, &report)

            for (name, tensor) in c.tensors {
                var t = tensor
                if CanonicalNames.isMatrixWeight(name, shape: t.shape) {
                    let (target, reason) = weightEncoding(t.encoding)
                    t = try report.convert(name, t, to: target, reason ?? "")
                    t = try report.convert(name, t, to: weightType, "whisper.cpp needs one type (\(weightType.rawValue)) for all weights")
                } else if t.shape.count == 3 {
                    t = try report.convert(name, t, to: convType, "whisper.cpp keeps conv weights in \(convType.rawValue)")
                } else {
                    t = try report.convert(name, t, to: .f32, "whisper.cpp keeps biases, norms and positional embeddings in f32")
                }
                var shape = t.shape
                if name.hasPrefix("encoder.conv"), name.hasSuffix(".bias"), shape.count == 1 { shape.append(1) }  // whisper.cpp's [S, 1]
                guard let code = GGMLType.code(of: t.encoding) else {
                    throw FormatError(.unsupported, "\(t.encoding.rawValue) has no ggml type", path: path, tensor: name)
                }
                try sink.write(le: Int32(shape.count))
                try sink.write(le: Int32(name.utf8.count))
                try sink.write(le: code)
                for dim in shape.reversed() { try sink.write(le: Int32(dim)) }
                try sink.write(name)
                try sink.write(t.data.bytes)
            }
            try sink.close()
        }
        return report
    }

    /// whisper.cpp's vocabulary: the BPE tokens as raw bytes, up to `<|endoftext|>` (its loader
    /// adds the special tokens itself).
    static func writeVocabulary(_ c: Checkpoint, _ sink: FileSink, _ report: inout ExportReport) throws {
        guard let complete = c.tokenizer.completeByteLevelVocabulary(nVocab: c.dims.nVocab) else {
            throw FormatError(.unsupported, "the checkpoint carries no vocabulary", path: c.provenance.path)
        }
        let end = c.tokenizer.specialTokens["<|endoftext|>"] ?? WhisperVocabulary.endOfText(nVocab: c.dims.nVocab) ?? complete.count
        let tokens = complete.prefix(end).map { ByteLevelSpelling.unspell($0) ?? $0 }
        try sink.write(le: Int32(tokens.count))
        for t in tokens {
            try sink.write(le: UInt32(t.count))
            try sink.write(t)
        }
    }
}
