import Foundation
import Testing
@testable import KDQFormats
import KDQTensor

/// Hugging Face `pytorch_model.bin` directories: the torch zip container with HF names.
@Suite struct HuggingFacePyTorchTests {
    let scratch = ScratchDirectory()

    /// Writes the reference tensors under HF names; `transposeQuery` stores one weight
    /// non-contiguously (as its transpose's storage with swapped strides).
    func makeDirectory(transposeQuery: Bool = false) throws -> String {
        let dir = scratch.path + "/hf-bin"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("hf-safetensors/config.json"), toPath: dir + "/config.json")
        var entries: [TorchPickleWriter.Entry] = []
        for (name, t) in Fixtures.reference.tensors {
            var values = try t.decodedFloats()
            var entry = TorchPickleWriter.Entry(name: HuggingFaceNames.huggingFace(name), values: values, shape: t.shape)
            if transposeQuery, name == "decoder.blocks.1.attn.query.weight" {
                let (r, c) = (t.shape[0], t.shape[1])
                values = (0..<(r * c)).map { k in values[(k % r) * c + k / r] }  // column-major copy
                entry = TorchPickleWriter.Entry(name: entry.name, values: values, shape: t.shape, stride: [1, r])
            }
            entries.append(entry)
        }
        entries.append(TorchPickleWriter.Entry(name: "proj_out.weight", values: try Fixtures.reference.tensor(named: "decoder.token_embedding.weight")!.decodedFloats(),
                                               shape: [1024, 64]))
        try TorchPickleWriter.write(dir + "/pytorch_model.bin", entries)
        return dir
    }

    @Test func readsHuggingFaceNamesFromTorchZip() throws {
        let c = try Checkpoint.open(try makeDirectory())
        #expect(c.provenance.format == .huggingFacePyTorch)
        #expect(c.tensors.count == 89, "tied proj_out must not become an extra tensor")
        #expect(c.dims == Fixtures.reference.dims)
        for (name, ref) in Fixtures.reference.tensors {
            #expect(try c.tensor(named: name)?.decodedFloats() == ref.decodedFloats(), "\(name)")
        }
    }

    @Test func nonContiguousTensorIsGathered() throws {
        let c = try Checkpoint.open(try makeDirectory(transposeQuery: true))
        let name = "decoder.blocks.1.attn.query.weight"
        let t = try #require(c.tensor(named: name))
        #expect(!t.data.isMapped)
        #expect(try t.decodedFloats() == Fixtures.reference.tensor(named: name)!.decodedFloats())
    }

    @Test func namesRoundTrip() {
        for (name, _) in CanonicalNames.expected(Fixtures.reference.dims) {
            let hf = HuggingFaceNames.huggingFace(name)
            #expect(hf.hasPrefix("model."))
            #expect(HuggingFaceNames.canonical(hf) == name, "\(name) -> \(hf)")
        }
        #expect(HuggingFaceNames.huggingFace("decoder.blocks.3.cross_attn.key.weight") == "model.decoder.layers.3.encoder_attn.k_proj.weight")
        #expect(HuggingFaceNames.huggingFace("encoder.blocks.0.mlp.2.bias") == "model.encoder.layers.0.fc2.bias")
        #expect(HuggingFaceNames.huggingFace("encoder.blocks.0.mlp_ln.weight") == "model.encoder.layers.0.final_layer_norm.weight")
    }
}
