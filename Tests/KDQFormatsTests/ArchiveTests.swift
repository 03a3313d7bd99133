import Foundation
import Testing
import KDQTestSupport
@testable import KDQFormats
import KDQJSON
import KDQTensor

/// The `.kdq` archive: written, read back, memory-mapped, verified, corrupted.
@Suite struct ArchiveTests {
    let scratch = ScratchDirectory()

    func archive(_ fixture: String, compression: KDQWriteOptions.Compression = .none) throws -> (Checkpoint, String) {
        let source = try Checkpoint.open(Fixtures.path(fixture))
        let path = scratch.path + "/\(fixture.replacingOccurrences(of: "/", with: "_"))-\(compression.rawValue).kdq"
        try KDQArchiveWriter.write(source, to: path, options: KDQWriteOptions(compression: compression, command: "test"))
        return (source, path)
    }

    static let sources = ["tiny-random.pt", "hf-safetensors", "ct2-float16", "ct2-int8", "ggml-tiny-random-f32.bin",
                          "ggml-tiny-random-f16.bin", "ggml-tiny-random-q8_0.bin", "ggml-tiny-random-q5_0.bin",
                          "ggml-tiny-random-q5_1.bin", "ggml-tiny-random-q4_0.bin", "ggml-tiny-random-q4_1.bin",
                          // large-v3 / turbo layout: 128 mel bins, 51,866 tokens, 4 decoder layers
                          "random-v3.pt", "ggml-random-v3.bin"]

    @Test(arguments: sources)
    func archiveKeepsEveryTensorByteForByte(_ fixture: String) throws {
        let (source, path) = try archive(fixture)
        let read = try Checkpoint.open(path)
        #expect(read.provenance.format == .kdq)
        #expect(read.dims == source.dims)
        #expect(read.tensors.count == source.tensors.count)
        for (name, t) in source.tensors {
            let r = try #require(read.tensor(named: name))
            #expect(r.encoding == t.encoding && r.shape == t.shape, "\(name)")
            #expect(r.data.bytes.elementsEqual(t.data.bytes), "\(name) data")
            #expect(r.scales.map { Array($0.bytes) } == t.scales.map { Array($0.bytes) }, "\(name) scales")
        }
        #expect(read.tokenizer.vocabulary == source.tokenizer.vocabulary)
        #expect(read.tokenizer.tokenizerJSON == source.tokenizer.tokenizerJSON)
        #expect(read.melFilters?.values == source.melFilters?.values)
        #expect(read.generation == source.generation)
        let report = try KDQVerifier.verify(path)
        #expect(report.isValid, "\(report.problems)")
    }

    /// Computed positions take no bytes in the archive and read back as the same table.
    @Test func computedPositionsRoundTripWithoutBytes() throws {
        let c = try Checkpoint.open(Fixtures.path("ct2-float16"))
        let stored = try #require(c.tensor(named: "encoder.positional_embedding"))
        var computed = c
        _ = try computed.convertTensors { name, _ in name == "encoder.positional_embedding" ? .sinusoids : nil }
        let storedPath = scratch.path + "/stored.kdq", computedPath = scratch.path + "/computed.kdq"
        try KDQArchiveWriter.write(c, to: storedPath)
        try KDQArchiveWriter.write(computed, to: computedPath)
        let back = try #require(try Checkpoint.open(computedPath).tensor(named: "encoder.positional_embedding"))
        #expect(back.encoding == .sinusoids && back.shape == stored.shape && back.byteCount == 0)
        #expect(try back.decodedFloats() == computed.tensor(named: "encoder.positional_embedding")!.decodedFloats())
        #expect(try KDQVerifier.verify(computedPath).isValid)
        let storedBytes = try FileManager.default.attributesOfItem(atPath: storedPath)[.size] as? Int ?? 0
        let computedBytes = try FileManager.default.attributesOfItem(atPath: computedPath)[.size] as? Int ?? 0
        #expect(storedBytes - computedBytes >= stored.byteCount, "stored \(storedBytes), computed \(computedBytes)")
    }

    /// Only the audio encoder's positions may be computed: a file cannot make a reader compute
    /// (and allocate) tables its bytes do not pay for under any other name.
    @Test func aComputedTensorOtherThanTheEncodersPositionsIsRefused() throws {
        var c = try Checkpoint.open(Fixtures.path("ct2-float16"))
        // The decoder's positions are learned: set a computed table in their place without a value check.
        _ = try c.convertTensors({ name, _ in name == "decoder.positional_embedding" ? .sinusoids : nil }) { _, t, _ in
            try Tensor(shape: t.shape, encoding: .sinusoids, data: Storage(count: 0) { _ in })
        }
        let path = scratch.path + "/computed-decoder.kdq"
        try KDQArchiveWriter.write(c, to: path)
        let error = #expect(throws: FormatError.self) { try Checkpoint.open(path) }
        #expect(error?.tensor == "decoder.positional_embedding" && error?.message.contains("encoder.positional_embedding only") == true,
                "\(String(describing: error))")
    }

    /// What a size budget counts: the bytes `archiveBytes` predicts are the file's, exactly.
    @Test(arguments: ["ct2-int8", "ggml-tiny-random-q5_0.bin", "hf-safetensors"])
    func archiveBytesIsTheWrittenFileSize(_ fixture: String) throws {
        let source = try Checkpoint.open(Fixtures.path(fixture))
        let options = KDQWriteOptions(command: "kdq test --with a command line")
        let predicted = try KDQArchiveWriter.archiveBytes(source, options: options)
        let path = scratch.path + "/sized-\(fixture).kdq"
        try KDQArchiveWriter.write(source, to: path, options: options)
        let written = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        #expect(written == predicted, "written \(String(describing: written)), predicted \(predicted)")
    }

    @Test func tensorDataIsMemoryMappedOn512ByteBoundaries() throws {
        let (_, path) = try archive("ct2-int8")
        let read = try Checkpoint.open(path)
        let base = read.provenance.weightsFile.bytes.baseAddress!
        for (name, t) in read.tensors {
            #expect(t.data.isMapped, "\(name)")
            #expect((t.data.bytes.baseAddress! - base) % 512 == 0, "\(name) starts at \(t.data.bytes.baseAddress! - base)")
        }
    }

    @Test(arguments: [KDQWriteOptions.Compression.zstd, .xz])
    func compressedArchivesReadAndVerify(_ compression: KDQWriteOptions.Compression) throws {
        let (source, path) = try archive("ggml-tiny-random-q4_1.bin", compression: compression)
        let (_, plain) = try archive("ggml-tiny-random-q4_1.bin")
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        let plainSize = try FileManager.default.attributesOfItem(atPath: plain)[.size] as! Int
        #expect(size < plainSize)
        let read = try Checkpoint.open(path)
        for (name, t) in source.tensors { #expect(read.tensor(named: name)!.data.bytes.elementsEqual(t.data.bytes)) }
        let report = try KDQVerifier.verify(path)
        #expect(report.isValid && report.compressed, "\(report.problems)")
    }

    @Test func tarListsTheArchive() throws {
        let (_, path) = try archive("ct2-float16")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["tar", "-tvf", path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let listing = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let names = listing.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
        #expect(names.first == "manifest.json" && names.last == "kdq.sha256")
        #expect(names.contains("tensors/decoder.blocks.1.cross_attn.value.weight"))
        #expect(names.contains("tokenizer/tokenizer.json.zst"))
    }

    @Test func manifestRecordsProvenanceAndValidates() throws {
        let (source, path) = try archive("tiny-random.pt")
        let members = try ArchiveMembers.read(try KDQArchiveReader.tarBytes(try MappedFile(path: path)), as: .tar, path: path)
        let manifest = try JSONValue.parse(members[0].data.bytes)
        let schema = try JSONValue.parse(ManifestSchema.text)
        #expect(JSONSchema(schema).validate(manifest).isEmpty)
        #expect(manifest["provenance"]?["source"]?["sha256"]?.stringValue == source.provenance.sha256)
        #expect(manifest["provenance"]?["source"]?["format"]?.stringValue == "openai-pt")
        #expect(manifest["provenance"]?["command"]?.stringValue == "test")
        #expect(manifest["compression"]?["layer_map"] == .null)
        #expect(manifest["tensors"]?.arrayValue?.count == 89)
    }

    @Test func reimportCarriesProvenanceForward() throws {
        let (_, first) = try archive("ct2-float16")
        let second = scratch.path + "/second.kdq"
        try KDQArchiveWriter.write(try Checkpoint.open(first), to: second)
        let read = try Checkpoint.open(second)
        #expect(read.archiveManifest?["provenance"]?["derived_from"]?["source"]?["format"]?.stringValue == "ctranslate2")
    }

    @Test func schemaFileMatchesTheCompiledSchema() throws {
        let file = try String(contentsOfFile: Fixtures.packageRoot + "/formats/manifest.schema.json", encoding: .utf8)
        #expect(file == ManifestSchema.text + "\n", "formats/manifest.schema.json and ManifestSchema.swift must hold the same schema")
    }

    @Test func dtypeConversionIsRecorded() throws {
        var c = try Checkpoint.open(Fixtures.path("reference-f32.safetensors"))
        var options = KDQWriteOptions()
        options.conversions = try c.convertTensors(to: .f16)
        #expect(options.conversions.count == 89)
        let path = scratch.path + "/f16.kdq"
        try KDQArchiveWriter.write(c, to: path, options: options)
        let read = try Checkpoint.open(path)
        #expect(read.tensors.allSatisfy { $0.tensor.encoding == .f16 })
        #expect(read.archiveManifest?["provenance"]?["conversions"]?.arrayValue?.count == 89)
        // The random fixture's weights are f16 values, so this conversion is exact.
        let diff = try read.tensors.map { name, t in try t.decodedFloats() == Fixtures.reference.tensor(named: name)!.decodedFloats() }
        #expect(diff.allSatisfy { $0 })
    }

    /// Every one of 200 random single-byte corruptions is detected by verify.
    @Test func verifyDetectsEverySingleByteCorruption() throws {
        let (_, path) = try archive("ct2-int8")
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var rng = SplitMix64(seed: 20261127)
        var undetected: [Int] = []
        for i in 0..<200 {
            var bytes = original
            let offset = Int(rng.next() % UInt64(bytes.count))
            bytes[offset] ^= UInt8(1 + rng.next() % 255)
            let corrupt = try scratch.write("corrupt-\(i).kdq", bytes)
            if let report = try? KDQVerifier.verify(corrupt), report.isValid { undetected.append(offset) }
            try FileManager.default.removeItem(atPath: corrupt)
        }
        print("verify: detected \(200 - undetected.count) of 200 single-byte corruptions")
        #expect(undetected.isEmpty, "undetected corruptions at offsets \(undetected)")
    }

    @Test func writeIntoMissingDirectoryFailsCleanly() throws {
        let c = try Checkpoint.open(Fixtures.path("ct2-float16"))
        let dir = scratch.path + "/no/such/dir"
        #expect(throws: FormatError.self) { try KDQArchiveWriter.write(c, to: dir + "/out.kdq") }
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.kdq"))
    }

    @Test func failedWriteLeavesNoTemporaryFile() throws {
        let c = try Checkpoint.open(Fixtures.path("ct2-float16"))
        try FileManager.default.createDirectory(atPath: scratch.path + "/target.kdq", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.path + "/target.kdq/occupied", withIntermediateDirectories: true)
        #expect(throws: FormatError.self) { try KDQArchiveWriter.write(c, to: scratch.path + "/target.kdq/occupied") }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/target.kdq")
        #expect(leftovers == ["occupied"], "\(leftovers)")
    }
}
