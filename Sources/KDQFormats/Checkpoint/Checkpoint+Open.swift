import KDQTensor

extension Checkpoint {
    /// Opens any supported Whisper checkpoint — a file or a model directory — choosing the
    /// reader by magic bytes and layout, never by file extension.
    public static func open(_ path: String) throws -> Checkpoint {
        if FileBytes.isDirectory(path) { return try openDirectory(path) }
        guard FileBytes.isRegularFile(path) else { throw FormatError(.io, "no such file or directory", path: path) }
        let file = try FileBytes.map(path)
        switch try FormatSniffer.sniff(file.bytes, path: path) {
        case .torchZip: return try TorchCheckpointReader.read(file: file, path: path, hfDirectory: nil)
        case .ggml: return try GGMLReader.read(file: file, path: path)
        case .safetensors: return try HuggingFaceReader.readFile(file, path: path)
        case .ctranslate2: return try CT2Reader.read(directory: FileBytes.parent(of: path), modelFile: file)
        case .kdq: return try KDQArchiveReader.read(file: file, path: path)
        }
    }

    private static func openDirectory(_ dir: String) throws -> Checkpoint {
        let candidates = ["model.bin", "model.safetensors.index.json", "model.safetensors", "pytorch_model.bin"]
        guard let name = candidates.first(where: { FileBytes.isRegularFile(dir + "/" + $0) }) else {
            throw FormatError(.unknownFormat, "directory holds none of \(candidates.joined(separator: ", "))", path: dir)
        }
        let path = dir + "/" + name
        if name == "model.safetensors.index.json" { return try HuggingFaceReader.readSharded(directory: dir, index: path) }
        let file = try FileBytes.map(path)
        switch try FormatSniffer.sniff(file.bytes, path: path) {
        case .ctranslate2: return try CT2Reader.read(directory: dir, modelFile: file)
        case .safetensors: return try HuggingFaceReader.readFile(file, path: path)
        case .torchZip: return try TorchCheckpointReader.read(file: file, path: path, hfDirectory: dir)
        case .ggml: return try GGMLReader.read(file: file, path: path)
        case .kdq: return try KDQArchiveReader.read(file: file, path: path)
        }
    }
}

/// Recognizes a checkpoint file by its first bytes.
enum FormatSniffer {
    enum Kind { case torchZip, ggml, safetensors, ctranslate2, kdq }

    static func sniff(_ b: UnsafeRawBufferPointer, path: String) throws -> Kind {
        guard b.count >= 8 else {
            throw FormatError(.truncated, "file has \(b.count) bytes, too short for any checkpoint format", path: path, offset: 0)
        }
        let u32 = b.loadUnaligned(as: UInt32.self)
        if b.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return .torchZip }
        if KDQArchiveReader.isCompressed(b) || KDQArchiveReader.looksLikeArchive(b) { return .kdq }
        if u32 == GGMLReader.magic { return .ggml }
        if b.starts(with: Array("GGUF".utf8)) {
            throw FormatError(.unsupported, "GGUF files are not supported: whisper.cpp loads Whisper models only from legacy ggml .bin files", path: path, offset: 0)
        }
        if b.starts(with: [0x80, 0x02, 0x8A, 0x0A]) {
            throw FormatError(.unsupported, "legacy (pre-1.6, non-zip) torch.save files are not supported; re-save with a current torch", path: path, offset: 0)
        }
        let header = b.loadUnaligned(as: UInt64.self)
        if header >= 2, b.count > 8, b[8] == UInt8(ascii: "{") { return .safetensors }
        if u32 >= 1, u32 <= CT2ModelFile.newestVersion, b.count >= 6 {
            let nameLength = Int(b.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
            if nameLength >= 2, b.count > 6 + nameLength, b[6 + nameLength - 1] == 0,
               b[6..<(6 + nameLength - 1)].allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return .ctranslate2 }
        }
        if u32 > CT2ModelFile.newestVersion, u32 < 100 {
            throw FormatError(.unsupported, "looks like a CTranslate2 model of binary version \(u32), newer than the supported \(CT2ModelFile.newestVersion)", path: path, offset: 0)
        }
        let hex = b.prefix(8).map { String(hexByte: $0) }.joined(separator: " ")
        throw FormatError(.unknownFormat, "first bytes \(hex) match no known format (torch zip, safetensors, ggml, CTranslate2)", path: path, offset: 0)
    }
}
