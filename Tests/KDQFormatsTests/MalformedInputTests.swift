import Foundation
import Testing
@testable import KDQFormats

/// Bad input gives a clear `FormatError` with a code and location: never a crash or a hang.
@Suite struct MalformedInputTests {
    let scratch = ScratchDirectory()

    // MARK: truncation

    @Test(arguments: ["tiny-random.pt", "hf-safetensors/model.safetensors", "ggml-tiny-random-q5_0.bin", "ct2-int8/model.bin",
                      "ggml-tiny-random-f32.bin"])
    func truncatedAtManyCutPoints(_ file: String) throws {
        let bytes = try Fixtures.bytes(file)
        var cuts = Array(0..<24) + stride(from: 24, to: bytes.count, by: max(1, bytes.count / 97)).map { $0 } + [bytes.count - 1]
        cuts = Array(Set(cuts.filter { $0 < bytes.count })).sorted()
        for cut in cuts {
            let path = try scratch.write("cut-\(cut)/\(file.split(separator: "/").last!)", Array(bytes[..<cut]))
            let error = expectFormatError(path)
            #expect(error != nil, "\(file) cut at \(cut) opened without error")
        }
        print("\(file): \(cuts.count) cut points, each rejected with an error")
    }

    // MARK: any format

    /// Found by scripts/fuzz.sh (torch): a state dict naming a tensor twice trapped building
    /// the tensor table; it is now an error naming the tensor.
    @Test func aStateDictNamingATensorTwiceIsAnError() throws {
        let input = Fixtures.packageRoot + "/Tests/Fuzz/corpus/torch/crash-duplicate-tensor-name"
        let e = try #require(expectFormatError(input))
        #expect(e.description.contains("twice") && e.description.contains("decoder.blocks.0.attn.value.bias"), "\(e)")
    }

    @Test func wrongMagic() throws {
        let path = try scratch.write("garbage.bin", Array("this is not a whisper model at all".utf8))
        let e = try #require(expectFormatError(path))
        #expect(e.code == .unknownFormat)
        #expect(e.description.contains("garbage.bin") && e.description.contains("74 68 69 73"))
    }

    @Test func emptyFile() throws {
        let e = try #require(expectFormatError(try scratch.write("empty.bin", [])))
        #expect(e.code == .truncated)
    }

    @Test func missingPath() throws {
        let e = try #require(expectFormatError(scratch.path + "/does-not-exist"))
        #expect(e.code == .io)
    }

    @Test func directoryWithoutModel() throws {
        try scratch.write("empty-dir/readme.txt", Array("hi".utf8))
        let e = try #require(expectFormatError(scratch.path + "/empty-dir"))
        #expect(e.code == .unknownFormat)
    }

    @Test func ggufIsRejectedWithReason() throws {
        let e = try #require(expectFormatError(try scratch.write("m.gguf", Array("GGUF".utf8) + [3, 0, 0, 0] + [UInt8](repeating: 0, count: 16))))
        #expect(e.code == .unsupported && e.message.contains("GGUF"))
    }

    @Test func legacyTorchIsRejectedWithReason() throws {
        let e = try #require(expectFormatError(try scratch.write("old.pt", [0x80, 0x02, 0x8A, 0x0A] + [UInt8](repeating: 0, count: 12))))
        #expect(e.code == .unsupported && e.message.contains("legacy"))
    }

    // MARK: safetensors

    func safetensors(_ header: String, data: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.appendLE(UInt64(header.utf8.count))
        return out + Array(header.utf8) + [UInt8](repeating: 0, count: data)
    }

    @Test func safetensorsHeaderLengthPastEnd() throws {
        var bytes: [UInt8] = []
        bytes.appendLE(UInt64(5000))
        bytes += Array("{\"a\": 1}".utf8)
        let e = try #require(expectFormatError(try scratch.write("h.safetensors", bytes)))
        #expect(e.code == .truncated && e.offset == 8)
    }

    @Test func safetensorsHeaderLengthOverLimit() throws {
        var bytes: [UInt8] = []
        bytes.appendLE(UInt64(200_000_000))
        bytes += Array("{}".utf8)
        let e = try #require(expectFormatError(try scratch.write("h.safetensors", bytes)))
        #expect(e.code == .badHeader && e.message.contains("exceeds"))
    }

    @Test func safetensorsTensorOffsetPastEnd() throws {
        let header = #"{"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}"#
        let e = try #require(expectFormatError(try scratch.write("o.safetensors", safetensors(header, data: 16))))
        #expect(e.code == .outOfBounds && e.tensor == "w")
    }

    @Test func safetensorsOverflowingShape() throws {
        let header = #"{"w": {"dtype": "F32", "shape": [1099511627776, 1099511627776], "data_offsets": [0, 4]}}"#
        let e = try #require(expectFormatError(try scratch.write("s.safetensors", safetensors(header, data: 4))))
        #expect(e.code == .overflow && e.tensor == "w")
    }

    @Test func safetensorsSizeDisagreesWithShape() throws {
        let header = #"{"w": {"dtype": "F16", "shape": [4], "data_offsets": [0, 4]}}"#
        let e = try #require(expectFormatError(try scratch.write("z.safetensors", safetensors(header, data: 4))))
        #expect(e.code == .badHeader && e.message.contains("needs 8 bytes"))
    }

    @Test func safetensorsHoleBetweenTensors() throws {
        let header = #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}"#
        let e = try #require(expectFormatError(try scratch.write("hole.safetensors", safetensors(header, data: 12))))
        #expect(e.code == .badHeader && e.message.contains("hole"))
    }

    @Test func safetensorsOverlappingTensors() throws {
        let header = #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#
        let e = try #require(expectFormatError(try scratch.write("overlap.safetensors", safetensors(header, data: 8))))
        #expect(e.code == .badHeader && e.message.contains("overlaps"))
    }

    @Test func safetensorsInvalidJSON() throws {
        let e = try #require(expectFormatError(try scratch.write("j.safetensors", safetensors(#"{"a": [1, 2"#, data: 0))))
        #expect(e.code == .badHeader && e.offset != nil)
    }

    @Test func safetensorsUnsupportedDtype() throws {
        let header = #"{"w": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}}"#
        let e = try #require(expectFormatError(try scratch.write("d.safetensors", safetensors(header, data: 4))))
        #expect(e.code == .unsupported && e.message.contains("F8_E4M3"))
    }

    // MARK: ggml

    /// A ggml header for the fixture's dims with no mel filters, no vocabulary, then `records`.
    func ggml(_ records: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.appendLE(UInt32(0x6767_6D6C))
        for v in [1024, 1500, 64, 2, 2, 448, 64, 2, 2, 80, 1, 0, 0, 0] as [Int32] { out.appendLE(v) }
        return out + records
    }

    func ggmlRecord(name: String, type: Int32, ne: [Int32], data: Int) -> [UInt8] {
        var r: [UInt8] = []
        r.appendLE(Int32(ne.count)); r.appendLE(Int32(name.utf8.count)); r.appendLE(type)
        for d in ne { r.appendLE(d) }
        return r + Array(name.utf8) + [UInt8](repeating: 0, count: data)
    }

    @Test func ggmlMissingTensor() throws {
        let e = try #require(expectFormatError(try scratch.write("m.bin", ggml([]))))
        #expect(e.code == .missingTensor && e.tensor == "encoder.positional_embedding")
    }

    /// One header byte changed so that the layer count is huge (issue 16's example,
    /// n_text_layer 2 → 0x3A000002): a clear error, no table of a billion expected names.
    @Test(arguments: [(8, "n_text_layer"), (4, "n_audio_layer")])
    func ggmlHugeLayerCountIsAnErrorNotAnAllocation(_ field: Int, _ name: String) throws {
        var bytes = try Fixtures.bytes("ggml-tiny-random-f16.bin")
        bytes[4 + 4 * field + 3] = 0x3A
        let e = try #require(expectFormatError(try scratch.write("huge-\(name).bin", bytes)))
        #expect(e.code == .missingTensor && e.message.contains("\(name) is \(0x3A00_0002)") && e.tensor?.contains(".blocks.2.") == true, "\(e)")
    }

    @Test func ggmlTensorDataPastEnd() throws {
        let e = try #require(expectFormatError(try scratch.write("p.bin", ggml(ggmlRecord(name: "x", type: 0, ne: [64, 1500], data: 100)))))
        #expect(e.code == .truncated && e.tensor == "x")
    }

    @Test func ggmlOverflowingShape() throws {
        let big = Int32.max
        let e = try #require(expectFormatError(try scratch.write("o.bin", ggml(ggmlRecord(name: "x", type: 0, ne: [big, big, big, big], data: 0)))))
        #expect(e.code == .overflow && e.tensor == "x")
    }

    @Test func ggmlUnsupportedTensorType() throws {
        // 15: q8_K, ggml's intermediate type, which no model file holds
        let e = try #require(expectFormatError(try scratch.write("k.bin", ggml(ggmlRecord(name: "x", type: 15, ne: [256], data: 292)))))
        #expect(e.code == .unsupported && e.message.contains("type 15"))
    }

    @Test func ggmlNegativeDimension() throws {
        let e = try #require(expectFormatError(try scratch.write("n.bin", ggml(ggmlRecord(name: "x", type: 0, ne: [-4], data: 0)))))
        #expect(e.code == .badHeader)
    }

    // MARK: CTranslate2

    func ct2(version: UInt32 = 6, spec: String = "WhisperSpec", variable: (name: String, dims: [UInt32], dtype: UInt8, bytes: UInt32, data: Int)) -> [UInt8] {
        func string(_ s: String) -> [UInt8] {
            var o: [UInt8] = []
            o.appendLE(UInt16(s.utf8.count + 1))
            return o + Array(s.utf8) + [0]
        }
        var out: [UInt8] = []
        out.appendLE(version)
        out += string(spec)
        out.appendLE(UInt32(3)); out.appendLE(UInt32(1))
        out += string(variable.name)
        out.append(UInt8(variable.dims.count))
        for d in variable.dims { out.appendLE(d) }
        out.append(variable.dtype); out.appendLE(variable.bytes)
        out += [UInt8](repeating: 0, count: variable.data)
        out.appendLE(UInt32(0))
        return out
    }

    @Test func ct2NewerBinaryVersion() throws {
        let e = try #require(expectFormatError(try scratch.write("v/model.bin", ct2(version: 7, variable: ("a", [1], 0, 4, 4)))))
        #expect(e.code == .unsupported && e.message.contains("version 7"))
    }

    @Test func ct2NotWhisper() throws {
        let e = try #require(expectFormatError(try scratch.write("t/model.bin", ct2(spec: "TransformerSpec", variable: ("a", [1], 0, 4, 4)))))
        #expect(e.code == .unsupported && e.message.contains("TransformerSpec"))
    }

    @Test func ct2ByteSizeDisagreesWithShape() throws {
        let e = try #require(expectFormatError(try scratch.write("b/model.bin", ct2(variable: ("a", [3], 0, 4, 4)))))
        #expect(e.code == .shapeMismatch && e.tensor == "a")
    }

    @Test func ct2OverflowingShape() throws {
        let e = try #require(expectFormatError(try scratch.write("o/model.bin", ct2(variable: ("a", [.max, .max, .max, .max], 0, 4, 4)))))
        #expect(e.code == .overflow && e.tensor == "a")
    }

    @Test func ct2UnknownDtype() throws {
        let e = try #require(expectFormatError(try scratch.write("d/model.bin", ct2(variable: ("a", [1], 9, 4, 4)))))
        #expect(e.code == .unsupported && e.message.contains("dtype id 9"))
    }

    @Test func ct2DataPastEnd() throws {
        var bytes = ct2(variable: ("a", [1000], 0, 4000, 0))
        bytes.removeLast(4)
        let e = try #require(expectFormatError(try scratch.write("p/model.bin", bytes)))
        #expect(e.code == .truncated)
    }

    // MARK: torch zip and pickle

    func torchZip(_ pickle: [UInt8], extra: [(String, [UInt8])] = []) throws -> String {
        let path = scratch.path + "/model-\(UUID().uuidString).pt"
        try ZipWriter.write(path, members: [("archive/data.pkl", pickle), ("archive/byteorder", Array("little".utf8))] + extra)
        return path
    }

    @Test func pickleNamingOsSystem() throws {
        // cos\nsystem\n + ('echo',) + REDUCE: what a malicious checkpoint does.
        let pickle: [UInt8] = [0x80, 0x02] + Array("cos\nsystem\n".utf8) + [0x58, 4, 0, 0, 0] + Array("echo".utf8) + [0x85, 0x52, 0x2E]
        let e = try #require(expectFormatError(try torchZip(pickle)))
        #expect(e.code == .forbiddenGlobal && e.message.contains("os.system"))
        #expect(e.offset == 2)
    }

    @Test func pickleNamingBuiltinsEvalViaStackGlobal() throws {
        let pickle: [UInt8] = [0x80, 0x04, 0x8C, 8] + Array("builtins".utf8) + [0x8C, 4] + Array("eval".utf8) + [0x93, 0x2E]
        let e = try #require(expectFormatError(try torchZip(pickle)))
        #expect(e.code == .forbiddenGlobal && e.message.contains("builtins.eval"))
    }

    @Test func pickleUnknownOpcode() throws {
        let e = try #require(expectFormatError(try torchZip([0x80, 0x02, 0x69, 0x2E])))  // INST
        #expect(e.code == .unsupported && e.offset == 2)
    }

    @Test func pickleStackUnderflow() throws {
        let e = try #require(expectFormatError(try torchZip([0x80, 0x02, 0x73, 0x2E])))  // SETITEM on nothing
        #expect(e.code == .badPickle)
    }

    @Test func pickleWithoutStop() throws {
        let e = try #require(expectFormatError(try torchZip([0x80, 0x02, 0x7D])))
        #expect(e.code == .truncated)
    }

    @Test func pickleMemoNeverStored() throws {
        let e = try #require(expectFormatError(try torchZip([0x80, 0x02, 0x68, 7, 0x2E])))  // BINGET 7
        #expect(e.code == .badPickle && e.message.contains("memo index 7"))
    }

    @Test func pickleStorageMemberMissing() throws {
        // {'w': _rebuild_tensor_v2(pid('storage', FloatStorage, '0', 'cpu', 4), 0, (4,), (1,), False, OrderedDict())}
        var p: [UInt8] = [0x80, 0x02, 0x7D, 0x58, 1, 0, 0, 0, 0x77]
        p += Array("ctorch._utils\n_rebuild_tensor_v2\n".utf8) + [0x28]
        p += [0x28, 0x58, 7, 0, 0, 0] + Array("storage".utf8) + Array("ctorch\nFloatStorage\n".utf8)
        p += [0x58, 1, 0, 0, 0, 0x30, 0x58, 3, 0, 0, 0] + Array("cpu".utf8) + [0x4B, 4, 0x74, 0x51]
        p += [0x4B, 0, 0x4B, 4, 0x85, 0x4B, 1, 0x85, 0x89] + Array("ccollections\nOrderedDict\n".utf8) + [0x29, 0x52, 0x74, 0x52]
        p += [0x73, 0x2E]
        let e = try #require(expectFormatError(try torchZip(p)))
        #expect(e.code == .missingTensor && e.message.contains("data/0"))
        // With the member present the same pickle is a valid (if incomplete) state dict.
        let e2 = try #require(expectFormatError(try torchZip(p, extra: [("archive/data/0", [UInt8](repeating: 0, count: 16))])))
        #expect(e2.code != .missingTensor || e2.tensor != nil)
    }

    @Test func torchZipWithoutPickle() throws {
        let path = scratch.path + "/nopickle.pt"
        try ZipWriter.write(path, members: [("archive/version", Array("3\n".utf8))])
        let e = try #require(expectFormatError(path))
        #expect(e.code == .badHeader && e.message.contains("data.pkl"))
    }

    @Test func torchBigEndian() throws {
        let path = scratch.path + "/be.pt"
        try ZipWriter.write(path, members: [("archive/data.pkl", [0x80, 0x02, 0x7D, 0x2E]), ("archive/byteorder", Array("big".utf8))])
        let e = try #require(expectFormatError(path))
        #expect(e.code == .unsupported && e.message.contains("big-endian"))
    }
}
