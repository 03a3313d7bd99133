import Foundation
import KDQJSON
import Testing
@testable import KDQAnalysis

@Suite struct ScoringTests {
    @Test func alignmentCountsEachKindOfError() {
        let c = EditCounts.align(reference: ["a", "b", "c", "d"], hypothesis: ["a", "x", "c", "d", "e"])
        #expect(c.substitutions == 1 && c.deletions == 0 && c.insertions == 1 && c.referenceLength == 4)
        let d = EditCounts.align(reference: ["a", "b", "c"], hypothesis: ["c"])
        #expect(d.errors == 2 && d.deletions == 2)
        #expect(EditCounts.words(reference: "", hypothesis: "").rate == 0)
        #expect(EditCounts.characters(reference: "ab c", hypothesis: "abc").errors == 1)
    }

    /// WER and CER of the reference hypotheses equal jiwer's figures in summary.json.
    @Test(arguments: ["tiny.en", "base"])
    func corpusScoresMatchJiwer(_ model: String) throws {
        let dir = NormalizerTests.fixtures
        let normalize = EnglishTextNormalizer()
        var refs: [String: String] = [:]
        for line in try String(contentsOfFile: dir + "/normalized-texts.jsonl", encoding: .utf8).split(separator: "\n") {
            let v = try JSONValue.parse(String(line))
            refs[v["id"]!.stringValue!] = normalize(v["text"]!.stringValue!)
        }
        var utterances: [(words: EditCounts, characters: EditCounts)] = []
        for line in try String(contentsOfFile: dir + "/fw-\(model)-float32-dev.jsonl", encoding: .utf8).split(separator: "\n") {
            let v = try JSONValue.parse(String(line))
            let ref = refs[v["id"]!.stringValue!]!, hyp = normalize(v["hyp"]!.stringValue!)
            utterances.append((EditCounts.words(reference: ref, hypothesis: hyp), EditCounts.characters(reference: ref, hypothesis: hyp)))
        }
        let score = CorpusScore(utterances)
        let summary = try JSONValue.parse(try String(contentsOfFile: dir + "/summary.json", encoding: .utf8))[model]!
        let wer = 100 * score.wer, cer = 100 * score.cer
        print("\(model): WER \(wer) (jiwer \(summary["wer"]!.doubleValue!)), CER \(cer) (jiwer \(summary["cer"]!.doubleValue!)), 95% CI \(score.werInterval)")
        #expect(abs(wer - summary["wer"]!.doubleValue!) <= 0.01)
        #expect(abs(cer - summary["cer"]!.doubleValue!) <= 0.01)
        #expect(score.werInterval.low <= score.wer && score.wer <= score.werInterval.high)
    }
}
