import Foundation
import KDQAnalysis
import Testing
@testable import KDQCompare

/// Which teacher block each student block is compared with, and the errors summed over clips.
@Suite struct LayerAlignmentTests {
    /// Teacher blocks whose residual streams are 1, 2, … (scaled copies of one vector).
    func streams(_ count: Int) -> [[Float]] { (0..<count).map { k in (0..<8).map { Float(k + 1) * Float($0 + 1) } } }

    @Test func aRecordedMapIsUsedAsRecorded() {
        var a = LayerAlignment(studentLayers: 2, teacherLayers: 6, recorded: [0, 5])
        let teacher = streams(6)
        a.add(student: [teacher[0], teacher[4]], teacher: teacher)
        let m = a.matches
        #expect(m.map(\.teacher) == [0, 5] && m.allSatisfy { $0.source == .recorded })
        #expect(m[0].metrics.relativeError == 0 && abs(m[1].metrics.relativeError - 1.0 / 6) < 1e-12)
    }

    @Test func equalDepthsCompareTheSameBlocks() {
        var a = LayerAlignment(studentLayers: 3, teacherLayers: 3, recorded: nil)
        let teacher = streams(3)
        a.add(student: teacher, teacher: teacher)
        #expect(a.matches.map(\.teacher) == [0, 1, 2] && a.matches.allSatisfy { $0.source == .sameIndex && $0.metrics.isExact })
    }

    @Test func withoutARecordTheBestIncreasingMatchIsFound() {
        var a = LayerAlignment(studentLayers: 3, teacherLayers: 6, recorded: nil)
        let teacher = streams(6)
        a.add(student: [teacher[1], teacher[3], teacher[4]], teacher: teacher)
        a.add(student: [teacher[1], teacher[3], teacher[4]], teacher: teacher)
        #expect(a.matches.map(\.teacher) == [1, 3, 4] && a.matches.allSatisfy { $0.source == .bestMatch })
        // Two student blocks closest to the same teacher block still get increasing teacher blocks.
        var b = LayerAlignment(studentLayers: 2, teacherLayers: 4, recorded: nil)
        b.add(student: [teacher[2], teacher[2]], teacher: Array(teacher.prefix(4)))
        let map = b.matches.map(\.teacher)
        #expect(map[0] < map[1] && map.contains(2), "\(map)")
    }

    @Test func aRecordThatDoesNotFitTheModelsIsIgnored() {
        #expect(LayerAlignment(studentLayers: 2, teacherLayers: 4, recorded: [0, 7]).recorded == nil)
        #expect(LayerAlignment(studentLayers: 2, teacherLayers: 4, recorded: [0, 1, 2]).recorded == nil)
    }

    @Test func errorsAreSummedOverClips() {
        var a = LayerAlignment(studentLayers: 1, teacherLayers: 1, recorded: nil)
        a.add(student: [[1, 1]], teacher: [[1, 1]])
        a.add(student: [[0, 0]], teacher: [[1, 1]])
        // ‖error‖² = 2 of ‖teacher‖² = 4 over both clips.
        #expect(abs(a.matches[0].metrics.relativeError - (0.5).squareRoot()) < 1e-12)
    }

    @Test func crossAttentionDivergenceIsZeroForTheSameWeightsAndLn2ForDisjointOnes() {
        var a = LayerAlignment(studentLayers: 2, teacherLayers: 2, recorded: nil)
        // Two positions over four frames; the first (a prompt row) is skipped.
        let teacher: [[Float]] = [[1, 0, 0, 0, 0.5, 0.5, 0, 0], [0.25, 0.25, 0.25, 0.25, 0, 0, 1, 0]]
        let student: [[Float]] = [[0, 0, 0, 1, 0.5, 0.5, 0, 0], [0.25, 0.25, 0.25, 0.25, 0, 0, 0, 1]]
        a.addCrossAttention(student: student, teacher: teacher, frames: 4, from: 1)
        let m = a.matches
        #expect(m[0].attentionDivergence == 0)
        #expect(abs(m[1].attentionDivergence! - log(2.0)) < 1e-12, "\(m[1].attentionDivergence!)")
    }

    @Test func blocksWithoutCrossAttentionHaveNoDivergence() {
        var a = LayerAlignment(studentLayers: 1, teacherLayers: 1, recorded: nil)
        a.add(student: [[1, 1]], teacher: [[1, 1]])
        #expect(a.matches[0].attentionDivergence == nil)
    }

    @Test func jensenShannonIsSymmetricAndBounded() {
        let p: [Float] = [0.7, 0.2, 0.1], q: [Float] = [0.1, 0.3, 0.6]
        let pq = LayerAlignment.jensenShannon(p[...], q[...]), qp = LayerAlignment.jensenShannon(q[...], p[...])
        #expect(abs(pq - qp) < 1e-15 && pq > 0 && pq < log(2.0))
    }
}
