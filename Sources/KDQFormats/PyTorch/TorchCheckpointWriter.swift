import CArchive
import Foundation
import KDQTensor

/// Writes an OpenAI Whisper checkpoint as `torch.save` does: a zip (stored members) of
/// `archive/data.pkl` — a protocol-2 pickle of `{'dims': {…}, 'model_state_dict':
/// OrderedDict(name → torch._utils._rebuild_tensor_v2(…))}` — one storage member per tensor
/// under `archive/data/`, `archive/byteorder` and `archive/version`. openai-whisper's
/// `load_model` and `torch.load(weights_only=True)` read it. f16, bf16 and f32 tensors keep
/// their bytes; block-encoded and int8 tensors are decoded to f32 (PyTorch has no such storage).
/// The checkpoint's tokenizer is not written: openai-whisper supplies its own from the
/// vocabulary size, so only release sizes are written.
public enum TorchCheckpointWriter {
    public static func write(_ c: Checkpoint, to path: String) throws -> ExportReport {
        guard WhisperVocabulary.endOfText(nVocab: c.dims.nVocab) != nil else {
            throw FormatError(.unsupported, "n_vocab \(c.dims.nVocab) is no release's: openai-whisper chooses its tokenizer by the vocabulary size "
                              + "(51,864 English, 51,865 or 51,866 multilingual) and could not print this model's text, so nothing was written", path: path)
        }
        var report = ExportReport()
        var tensors: [(name: String, tensor: Tensor)] = []
        for (name, t) in c.tensors {
            let keeps = t.encoding == .f16 || t.encoding == .f32 || t.encoding == .bf16
            tensors.append((name, keeps ? t : try report.convert(name, t, to: .f32, "PyTorch has no block-encoded storage")))
        }
        if c.tokenizer.tokenizerJSON != nil || c.tokenizer.vocabulary != nil {
            report.omitted("the tokenizer is not written: openai-whisper uses its own for this vocabulary size")
        }
        try AtomicOutput.produce(path) { output in
            try writeZip(to: output.temporaryPath, pickle: pickle(c.dims, tensors), tensors: tensors)
        }
        return report
    }

    /// The pickle of `{'dims': …, 'model_state_dict': OrderedDict(…)}`.
    static func pickle(_ d: ModelDims, _ tensors: [(name: String, tensor: Tensor)]) -> [UInt8] {
        var p: [UInt8] = [0x80, 0x02]  // PROTO 2
        func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { p += $0 } }
        func string(_ s: String) { p.append(0x58); le(UInt32(s.utf8.count)); p += Array(s.utf8) }  // BINUNICODE
        func int(_ v: Int) { p.append(0x4A); le(Int32(truncatingIfNeeded: v)) }  // BININT
        func tuple(_ values: [Int]) { p.append(0x28); values.forEach(int); p.append(0x74) }  // MARK … TUPLE
        func global(_ module: String, _ name: String) { p += [0x63] + Array("\(module)\n\(name)\n".utf8) }  // GLOBAL
        func orderedDict() { global("collections", "OrderedDict"); p += [0x29, 0x52] }  // EMPTY_TUPLE, REDUCE
        p += [0x7D, 0x28]  // EMPTY_DICT, MARK
        string("dims")
        p += [0x7D, 0x28]
        for (name, value) in d.namedValues { string(name); int(value) }
        p.append(0x75)  // SETITEMS
        string("model_state_dict")
        orderedDict()
        p.append(0x28)
        for (key, (name, t)) in tensors.enumerated() {
            string(name)
            global("torch._utils", "_rebuild_tensor_v2")
            p += [0x28, 0x28]  // MARK (arguments), MARK (persistent id)
            string("storage")
            global("torch", storageType(t.encoding))
            string("\(key)")
            string("cpu")
            int(t.elementCount)
            p += [0x74, 0x51]  // TUPLE, BINPERSID
            int(0)
            tuple(t.shape)
            tuple(rowMajorStrides(t.shape))
            p.append(0x89)  // NEWFALSE: requires_grad
            orderedDict()  // backward hooks
            p += [0x74, 0x52]  // TUPLE, REDUCE
        }
        p += [0x75, 0x75, 0x2E]  // SETITEMS (state dict), SETITEMS (top), STOP
        return p
    }

    static func storageType(_ e: Encoding) -> String {
        switch e {
        case .f16: return "HalfStorage"
        case .bf16: return "BFloat16Storage"
        default: return "FloatStorage"
        }
    }

    static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for i in stride(from: shape.count - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * shape[i + 1] }
        return strides
    }

    /// The zip, members stored, in torch.save's order.
    static func writeZip(to path: String, pickle: [UInt8], tensors: [(name: String, tensor: Tensor)]) throws {
        guard let a = archive_write_new() else { throw FormatError(.io, "libarchive could not allocate a writer", path: path) }
        defer { archive_write_free(a) }
        archive_write_set_format_zip(a)
        archive_write_set_options(a, "zip:compression=store")
        /// libarchive's message, with the system's reason when it has one ("Write error" alone says little).
        func reason() -> String {
            let text = archive_error_string(a).map { String(cString: $0) } ?? "?"
            let code = archive_errno(a)
            let system = code > 0 ? String(cString: strerror(code)) : ""
            return system.isEmpty || text.contains(system) ? text : "\(text): \(system)"
        }
        guard archive_write_open_filename(a, path) == ARCHIVE_OK else {
            throw FormatError(.io, "cannot create: \(reason())", path: path)
        }
        func add(_ name: String, _ bytes: UnsafeRawBufferPointer) throws {
            guard let e = archive_entry_new() else { throw FormatError(.io, "libarchive could not allocate an entry", path: path) }
            defer { archive_entry_free(e) }
            archive_entry_set_pathname(e, name)
            archive_entry_set_size(e, Int64(bytes.count))
            archive_entry_set_filetype(e, 0o100000)
            archive_entry_set_perm(e, 0o644)
            guard archive_write_header(a, e) == ARCHIVE_OK else {
                throw FormatError(.io, "cannot write '\(name)': \(reason())", path: path)
            }
            var offset = 0
            while offset < bytes.count {
                let n = Swift.min(8 << 20, bytes.count - offset)
                guard archive_write_data(a, bytes.baseAddress! + offset, n) == n else {
                    throw FormatError(.io, "cannot write '\(name)': \(reason())", path: path)
                }
                offset += n
            }
        }
        try pickle.withUnsafeBytes { try add("archive/data.pkl", $0) }
        try Array("little".utf8).withUnsafeBytes { try add("archive/byteorder", $0) }
        for (key, (_, t)) in tensors.enumerated() { try add("archive/data/\(key)", t.data.bytes) }
        try Array("3\n".utf8).withUnsafeBytes { try add("archive/version", $0) }
        guard archive_write_close(a) == ARCHIVE_OK else {
            throw FormatError(.io, "cannot finish the zip: \(reason())", path: path)
        }
    }
}
