import Foundation
import KDQQuantize
import Testing
@testable import KDQCompare

/// Next-token agreement: the KL over every position, top-1 agreement over predicting positions,
/// the KL by position and the positions of largest KL.
@Suite struct TokenAgreementTests {
    /// Log-probabilities of rows that put most mass on `tops` (vocabulary of 4).
    func logP(_ tops: [Int], sharpness: Float = 3) -> [Float] {
        LogitDivergence.logSoftmax(tops.flatMap { t in (0..<4).map { $0 == t ? sharpness : 0 } }, vocab: 4)
    }

    @Test func identicalModelsAgreeEverywhere() {
        var a = TokenAgreement()
        let teacher = logP([1, 2, 3])
        a.add(clip: "c", tokens: [0, 1, 2], promptLength: 1, teacherLogP: teacher, studentLogits: teacher, vocab: 4)
        #expect(a.rows == 3 && a.predicted == 2 && a.top1Agreement == 1 && a.meanKL < 1e-6 && a.transcriptKL < 1e-6)
    }

    @Test func disagreementIsCountedAndTheWorstPositionsKept() {
        var a = TokenAgreement(kept: 2)
        let teacher = logP([1, 2, 3, 0])
        let student = logP([1, 0, 3, 0]).enumerated().map { $0.offset >= 12 ? Float(0) : $0.element }
        a.add(clip: "c", tokens: [0, 1, 2, 3], promptLength: 1, teacherLogP: teacher, studentLogits: student, vocab: 4)
        let perRow = LogitDivergence.perRow(reference: teacher, candidate: student, vocab: 4)
        #expect(a.rows == 4 && a.predicted == 3 && abs(a.top1Agreement - 2.0 / 3) < 1e-12)
        #expect(abs(a.meanKL - perRow.reduce(0, +) / 4) < 1e-12 && abs(a.transcriptKL - perRow.prefix(3).reduce(0, +) / 3) < 1e-12)
        #expect(a.largest.count == 2 && a.largest[0].index == 1 && a.largest[0].expected == 2 && a.largest[0].teacherTop == 2 && a.largest[0].studentTop == 0)
        #expect(a.largest[0].kl >= a.largest[1].kl)
        #expect(a.byIndex.count == 3 && abs(a.byIndex[1].kl - perRow[1]) < 1e-12)
    }

    /// The prompt is forced when decoding: its rows count in the eval mean, not in the transcript's.
    @Test func promptPositionsCountOnlyInTheOverallMean() {
        var a = TokenAgreement()
        let teacher = logP([1, 2, 3]), student = logP([3, 3, 3])
        a.add(clip: "c", tokens: [0, 1, 2], promptLength: 2, teacherLogP: teacher, studentLogits: student, vocab: 4)
        let perRow = LogitDivergence.perRow(reference: teacher, candidate: student, vocab: 4)
        #expect(a.rows == 3 && a.predicted == 1 && a.largest.map(\.index) == [1])
        #expect(abs(a.transcriptKL - perRow[1]) < 1e-12 && abs(a.meanKL - perRow.reduce(0, +) / 3) < 1e-12)
    }
}
