import KDQQuantize

/// How a student's next-token distributions agree with a teacher's on teacher-forced sequences:
/// the KL over every position (as `kdq eval --kl` averages it), and over the positions that
/// predict a transcript token (the text and end of text, not the prompt, which decoding forces):
/// their mean KL, top-1 agreement, the mean KL by position in the sequence, and the positions
/// of largest KL.
public struct TokenAgreement: Sendable {
    /// A position where the student strays most from the teacher.
    public struct Position: Sendable {
        public let clip: String
        /// Index of the row in the sequence (it predicts token `index + 1`).
        public let index: Int
        public let kl: Double
        /// The token the sequence continues with, the teacher's and the student's most likely.
        public let expected: Int, teacherTop: Int, studentTop: Int
    }

    /// Σ KL and rows over every position (the `kdq eval --kl` mean).
    public private(set) var klSum = 0.0, rows = 0
    /// Positions that predict a transcript token, Σ of their KL, and how many of them both
    /// models rank first alike.
    public private(set) var predicted = 0, transcriptKLSum = 0.0, agreements = 0
    /// Σ KL and count by position index (capped at `positionsTracked`).
    public private(set) var byIndex: [(kl: Double, count: Int)] = []
    /// The `kept` positions of largest KL, largest first.
    public private(set) var largest: [Position] = []
    public let positionsTracked: Int, kept: Int

    public init(positionsTracked: Int = 64, kept: Int = 12) {
        self.positionsTracked = positionsTracked
        self.kept = kept
    }

    /// Mean KL over every position (nats).
    public var meanKL: Double { rows == 0 ? 0 : klSum / Double(rows) }
    /// Mean KL over the positions that predict a transcript token (nats).
    public var transcriptKL: Double { predicted == 0 ? 0 : transcriptKLSum / Double(predicted) }
    /// Share of those positions where both models' most likely token is the same.
    public var top1Agreement: Double { predicted == 0 ? 0 : Double(agreements) / Double(predicted) }

    /// Adds one teacher-forced sequence: the teacher's log-probabilities and the student's
    /// logits for every row of `tokens` (rows of `vocab`), whose first `promptLength` tokens
    /// are the prompt.
    public mutating func add(clip: String, tokens: [Int], promptLength: Int, teacherLogP: [Float], studentLogits: [Float], vocab: Int) {
        let kl = LogitDivergence.perRow(reference: teacherLogP, candidate: studentLogits, vocab: vocab)
        klSum += kl.reduce(0, +)
        rows += kl.count
        for i in max(0, promptLength - 1)..<max(0, min(kl.count, tokens.count - 1)) {
            let teacherTop = Self.argmax(teacherLogP, row: i, vocab: vocab), studentTop = Self.argmax(studentLogits, row: i, vocab: vocab)
            predicted += 1
            transcriptKLSum += kl[i]
            if teacherTop == studentTop { agreements += 1 }
            if i < positionsTracked {
                while byIndex.count <= i { byIndex.append((0, 0)) }
                byIndex[i].kl += kl[i]
                byIndex[i].count += 1
            }
            if largest.count < kept || kl[i] > largest[largest.count - 1].kl {
                largest.append(Position(clip: clip, index: i, kl: kl[i], expected: tokens[i + 1], teacherTop: teacherTop, studentTop: studentTop))
                largest.sort { $0.kl > $1.kl }
                if largest.count > kept { largest.removeLast() }
            }
        }
    }

    static func argmax(_ values: [Float], row: Int, vocab: Int) -> Int {
        var best = 0, top = -Float.infinity
        for j in 0..<vocab where values[row * vocab + j] > top {
            top = values[row * vocab + j]
            best = j
        }
        return best
    }
}
