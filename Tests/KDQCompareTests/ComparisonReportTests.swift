import Foundation
import KDQAnalysis
import KDQFormats
import KDQJSON
import KDQQuantize
import Testing
@testable import KDQCompare

/// The report's JSON form against formats/compare.schema.json.
@Suite struct ComparisonReportTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func report(withText: Bool, widthsDiffer: Bool) throws -> ComparisonReport {
        let fixture = try Checkpoint.open(Self.root + "/Tests/KDQFormatsTests/Fixtures/tiny-random.pt")
        var tokens = TokenAgreement()
        let logP = LogitDivergence.logSoftmax([3, 0, 0, 0, 0, 3, 0, 0], vocab: 4)
        tokens.add(clip: "a", tokens: [0, 1], promptLength: 1, teacherLogP: logP, studentLogits: [0, 3, 0, 0, 0, 3, 0, 0], vocab: 4)
        var layers = LayerAlignment(studentLayers: 1, teacherLayers: 2, recorded: [1])
        layers.add(student: [[1, 2]], teacher: [[1, 1], [1, 2]])
        let words = withText ? EditCounts.words(reference: "a b", hypothesis: "a c") : nil
        let model = ComparisonReport.Model(path: "t.kdq", sha256: "00", encoderLayers: 2, decoderLayers: 2, tensorBytes: 10,
                                           words: words, characters: withText ? EditCounts.characters(reference: "ab", hypothesis: "ac") : nil)
        return ComparisonReport(teacher: model, student: model, clips: 1, scoredClips: 1, tokens: tokens,
                                strays: tokens.largest.map { .init(position: $0, expected: "x", teacherTop: "x", studentTop: "y") },
                                encoder: widthsDiffer ? nil : layers.matches, decoder: layers.matches,
                                tensors: .init(diff: try CheckpointDiff(fixture, fixture), studentNames: [:]))
    }

    @Test(arguments: [(true, false), (false, true)])
    func theJSONFollowsTheSchema(_ withText: Bool, _ widthsDiffer: Bool) throws {
        let schema = try JSONValue.parse(String(contentsOfFile: Self.root + "/formats/compare.schema.json", encoding: .utf8))
        let json = try report(withText: withText, widthsDiffer: widthsDiffer).json
        let problems = JSONSchema(schema).validate(json)
        #expect(problems.isEmpty, "\(problems)")
        #expect(json["decoder_layers"]?.arrayValue?.first?["teacher"]?.intValue == 1)
        #expect((json["student"]?["wer"] == .null) != withText)
        #expect(json["tensors"]?["identical"]?.intValue == json["tensors"]?["compared"]?.intValue)
    }
}
