import Testing
@testable import KDQFormats

/// `tokenizer/vocabulary.bin`: round trip, and the manifest's token count checked against the
/// member before anything is read (a fuzzing find: a missing count, read as -1, trapped).
@Suite struct VocabularyCodecTests {
    @Test func tokensRoundTrip() throws {
        let tokens: [[UInt8]] = [[0x21], [], Array("hello".utf8)]
        let bytes = VocabularyCodec.encode(tokens)
        #expect(try bytes.withUnsafeBytes { try VocabularyCodec.decode($0, count: 3, path: "v.bin") } == tokens)
    }

    @Test(arguments: [-1, -7, 4, Int.max])
    func aCountTheMemberCannotHoldIsRefused(_ count: Int) throws {
        let bytes = VocabularyCodec.encode([[0x21], [0x22], [0x23]])  // 15 bytes: at most 3 tokens
        let error = try #require(throws: FormatError.self) {
            try bytes.withUnsafeBytes { try VocabularyCodec.decode($0, count: count, path: "v.bin") }
        }
        #expect("\(error)".contains("vocabulary count"), "\(error)")
    }
}
