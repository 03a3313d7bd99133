import Foundation
import KDQAnalysis

/// How a student's layers (encoder or decoder blocks) line up with a teacher's: the error of
/// each student block's output (its residual stream) against every teacher block's, summed over
/// clips, and the teacher block each student block is compared with — the one the student
/// records it was copied from, the same block when the depths are equal, or else the best
/// increasing match (each student block to a later teacher block than the one before it, the
/// summed relative error smallest). For decoder blocks it also compares where each block looks
/// in the audio: the Jensen–Shannon divergence of its cross-attention weights (averaged over
/// heads, one distribution over the encoder frames per token position) from the teacher block's.
public struct LayerAlignment: Sendable {
    /// Where a student block's teacher block came from.
    public enum Source: String, Sendable {
        case recorded
        case sameIndex = "same_index"
        case bestMatch = "best_match"
    }

    /// One student block against its teacher block.
    public struct Match: Sendable {
        public let student: Int
        public let teacher: Int
        public let source: Source
        public let metrics: ErrorMetrics
        /// Mean Jensen–Shannon divergence (nats, at most ln 2) of the two blocks' cross-attention
        /// over the audio per scored position; nil for encoder blocks.
        public let attentionDivergence: Double?
    }

    public let studentLayers: Int, teacherLayers: Int
    /// The teacher block each student block was copied from, when the student records it.
    public let recorded: [Int]?
    /// `metrics[s][t]`: student block s against teacher block t, over every clip added.
    public private(set) var metrics: [[ErrorMetrics]]
    /// `attention[s][t]`: summed cross-attention divergence of student block s from teacher
    /// block t, and the positions summed.
    private var attention: [[(sum: Double, positions: Int)]]

    public init(studentLayers: Int, teacherLayers: Int, recorded: [Int]?) {
        self.studentLayers = studentLayers
        self.teacherLayers = teacherLayers
        self.recorded = recorded.flatMap { r in r.count == studentLayers && r.allSatisfy { (0..<teacherLayers).contains($0) } ? r : nil }
        metrics = Array(repeating: Array(repeating: ErrorMetrics(), count: teacherLayers), count: studentLayers)
        attention = Array(repeating: Array(repeating: (0, 0), count: teacherLayers), count: studentLayers)
    }

    /// Adds one clip's cross-attention (each block's `positions × frames` weights, averaged over
    /// heads), comparing positions `from` onward (the transcript, not the forced prompt).
    public mutating func addCrossAttention(student: [[Float]], teacher: [[Float]], frames: Int, from: Int) {
        guard frames > 0 else { return }
        for s in 0..<min(studentLayers, student.count) {
            for t in 0..<min(teacherLayers, teacher.count) where teacher[t].count == student[s].count {
                let rows = student[s].count / frames
                for row in from..<max(from, rows) {
                    let range = (row * frames)..<((row + 1) * frames)
                    attention[s][t].sum += Self.jensenShannon(student[s][range], teacher[t][range])
                    attention[s][t].positions += 1
                }
            }
        }
    }

    /// The Jensen–Shannon divergence (nats) of two distributions over the same support.
    static func jensenShannon(_ p: ArraySlice<Float>, _ q: ArraySlice<Float>) -> Double {
        var sum = 0.0
        for (a, b) in zip(p, q) {
            let x = Double(a), y = Double(b), m = (x + y) / 2
            if x > 0 { sum += x * log(x / m) }
            if y > 0 { sum += y * log(y / m) }
        }
        return max(0, sum / 2)
    }

    /// Adds one clip: each model's residual stream after each block, of the same width and rows.
    public mutating func add(student: [[Float]], teacher: [[Float]]) {
        for s in 0..<min(studentLayers, student.count) {
            for t in 0..<min(teacherLayers, teacher.count) where teacher[t].count == student[s].count {
                metrics[s][t].merge(ErrorMetrics.compare(teacher[t], student[s]))
            }
        }
    }

    /// Each student block with its teacher block and their error.
    public var matches: [Match] {
        let (map, source): ([Int], Source)
        if let recorded {
            (map, source) = (recorded, .recorded)
        } else if studentLayers == teacherLayers {
            (map, source) = (Array(0..<studentLayers), .sameIndex)
        } else {
            (map, source) = (bestIncreasingMatch(), .bestMatch)
        }
        return map.enumerated().map {
            let a = attention[$0.offset][$0.element]
            return Match(student: $0.offset, teacher: $0.element, source: source, metrics: metrics[$0.offset][$0.element],
                         attentionDivergence: a.positions > 0 ? a.sum / Double(a.positions) : nil)
        }
    }

    /// The strictly increasing map of student to teacher blocks with the smallest summed
    /// relative error (dynamic programming over student block and last teacher block).
    func bestIncreasingMatch() -> [Int] {
        let s = studentLayers, t = teacherLayers
        guard s > 0, s <= t else { return Array(0..<s).map { min($0, max(0, t - 1)) } }
        var cost = Array(repeating: [Double](repeating: .infinity, count: t), count: s)
        var from = Array(repeating: [Int](repeating: -1, count: t), count: s)
        for j in 0..<t { cost[0][j] = metrics[0][j].relativeError }
        for i in 1..<s {
            for j in i..<t {
                for k in (i - 1)..<j where cost[i - 1][k] + metrics[i][j].relativeError < cost[i][j] {
                    cost[i][j] = cost[i - 1][k] + metrics[i][j].relativeError
                    from[i][j] = k
                }
            }
        }
        var j = (s - 1..<t).min { cost[s - 1][$0] < cost[s - 1][$1] } ?? s - 1
        var map = [Int](repeating: 0, count: s)
        for i in stride(from: s - 1, through: 0, by: -1) {
            map[i] = j
            j = from[i][j]
        }
        return map
    }
}
