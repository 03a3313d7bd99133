import Foundation
import KDQFormats
import KDQTensor
import Testing

/// Vocabulary-trimmed models: the kept-id list is checked, trimming copies the kept rows'
/// bytes in any encoding, an archive keeps them, and other formats are refused.
@Suite struct VocabularySubsetTests {
    static func ids(_ values: [Int32]) throws -> Tensor {
        try Tensor(shape: [values.count], encoding: .i32, data: Storage(values: values))
    }

    @Test func idsOutsideTheVocabularyAreRefused() {
        #expect(throws: FormatError.self) { try VocabularySubset(ids: [0, 1024], vocabularySize: 1024) }
        #expect(throws: FormatError.self) { try VocabularySubset(ids: [-1, 3], vocabularySize: 1024) }
    }

    @Test func aTokenListedTwiceIsRefused() {
        #expect(throws: FormatError.self) { try VocabularySubset(ids: [3, 5, 3], vocabularySize: 1024) }
    }

    @Test func anEmptyListIsRefused() {
        #expect(throws: FormatError.self) { try VocabularySubset(ids: [], vocabularySize: 1024) }
    }

    @Test func aStoredListMustIncrease() throws {
        #expect(throws: FormatError.self) { try VocabularySubset(tensor: try Self.ids([1, 5, 4]), vocabularySize: 1024) }
    }

    @Test func aStoredListMustBeI32() throws {
        #expect(throws: FormatError.self) { try VocabularySubset(tensor: try Tensor(shape: [2], floats: [1, 2]), vocabularySize: 1024) }
    }

    @Test func rowsFollowTheKeptIds() throws {
        let kept = try VocabularySubset(ids: [9, 2, 5], vocabularySize: 16)
        #expect(kept.ids == [2, 5, 9])
        #expect(kept.row(of: 5) == 1 && kept.row(of: 9) == 2 && kept.row(of: 3) == nil && kept.row(of: 99) == nil)
        #expect(try VocabularySubset(tensor: try kept.tensor, vocabularySize: 16) == kept)
    }

    @Test func trimmingKeepsTheRowsBytesAndAnArchiveKeepsTheSubset() throws {
        let source = try Checkpoint.open(Fixtures.path("ggml-tiny-random-q4_0.bin"))
        let kept = try VocabularySubset(ids: Array(stride(from: 0, to: 1024, by: 3)), vocabularySize: 1024)
        let trimmed = try source.trimmingVocabulary(to: kept)
        let before = try #require(source.tensor(named: "decoder.token_embedding.weight"))
        let after = try #require(trimmed.tensor(named: "decoder.token_embedding.weight"))
        #expect(after.encoding == .q4_0 && after.shape == [kept.count, 64])
        let rowBytes = try before.encoding.byteCount(elements: 64)
        for (row, id) in kept.ids.enumerated().filter({ $0.offset % 50 == 0 }) {
            #expect(Array(after.data.bytes[(row * rowBytes)..<((row + 1) * rowBytes)]) == Array(before.data.bytes[(id * rowBytes)..<((id + 1) * rowBytes)]))
        }
        let dir = ScratchDirectory()
        let path = dir.path + "/trimmed.kdq"
        try KDQArchiveWriter.write(trimmed, to: path, options: KDQWriteOptions(command: "test"))
        let read = try Checkpoint.open(path)
        #expect(try VocabularySubset(read) == kept)
        #expect(read.tensor(named: "decoder.token_embedding.weight")?.data.array == after.data.array)
        #expect(throws: FormatError.self) { try read.trimmingVocabulary(to: kept) }
    }

    @Test func anEmbeddingWhoseRowsDoNotMatchTheListIsRefused() throws {
        let source = try Checkpoint.open(Fixtures.path("ggml-tiny-random-f32.bin"))
        var tensors = Dictionary(uniqueKeysWithValues: source.tensors.map { ($0.name, $0.tensor) })
        tensors[VocabularySubset.tensorName] = try Self.ids([1, 2, 3])
        #expect(throws: FormatError.self) {
            try Checkpoint(dims: source.dims, tensors: tensors, tokenizer: source.tokenizer, melFilters: source.melFilters, provenance: source.provenance)
        }
    }

    @Test(arguments: ExportTarget.allCases) func exportsRefuseATrimmedVocabulary(_ target: ExportTarget) throws {
        let source = try Checkpoint.open(Fixtures.path("ggml-tiny-random-f16.bin"))
        let trimmed = try source.trimmingVocabulary(to: try VocabularySubset(ids: Array(0..<512), vocabularySize: 1024))
        let dir = ScratchDirectory()
        let output = dir.path + "/out-\(target.rawValue)"
        #expect(throws: FormatError.self) { try target.write(trimmed, to: output) }
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
