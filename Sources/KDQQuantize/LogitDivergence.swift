import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// KL(p‖q) between a reference model's next-token distributions and a candidate's, from the
/// reference's log-probabilities and the candidate's logits (rows of `vocab`); rows are
/// spread over the cores.
public enum LogitDivergence {
    /// Log-softmax of each row of `logits`, accumulated in double precision.
    public static func logSoftmax(_ logits: [Float], vocab: Int) -> [Float] {
        var out = [Float](repeating: 0, count: logits.count)
        logits.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                let x = x, y = y
                DispatchQueue.concurrentPerform(iterations: logits.count / vocab) { r in
                    let row = x.baseAddress! + r * vocab, result = y.baseAddress! + r * vocab
                    var top = -Float.infinity
                    for i in 0..<vocab { top = max(top, row[i]) }
                    var sum = 0.0
                    for i in 0..<vocab { sum += exp(Double(row[i] - top)) }
                    let shift = Double(top) + log(sum)
                    for i in 0..<vocab { result[i] = Float(Double(row[i]) - shift) }
                }
            }
        }
        return out
    }

    /// Σ over rows of KL(p‖q) (nats), and the row count.
    public static func summed(reference logP: [Float], candidate logits: [Float], vocab: Int) -> (total: Double, rows: Int) {
        let rows = perRow(reference: logP, candidate: logits, vocab: vocab)
        return (rows.reduce(0, +), rows.count)
    }

    /// The log-probability a token the candidate cannot produce (not in its trimmed vocabulary,
    /// logit -inf) counts as: the reference's mass on it costs a finite p·(log p + 30).
    public static let impossibleLogProbability = -30.0

    /// KL(p‖q) of each row (nats), for the rows both hold. Tokens the reference cannot produce
    /// contribute nothing.
    public static func perRow(reference logP: [Float], candidate logits: [Float], vocab: Int) -> [Double] {
        let logQ = logSoftmax(logits, vocab: vocab)
        let rows = min(logP.count, logQ.count) / vocab
        var perRow = [Double](repeating: 0, count: rows)
        logP.withUnsafeBufferPointer { p in
            logQ.withUnsafeBufferPointer { q in
                perRow.withUnsafeMutableBufferPointer { out in
                    let p = p, q = q, out = out
                    DispatchQueue.concurrentPerform(iterations: rows) { r in
                        var kl = 0.0
                        for i in (r * vocab)..<((r + 1) * vocab) where p[i] > -.infinity {
                            let lp = Double(p[i])
                            kl += exp(lp) * (lp - max(Double(q[i]), impossibleLogProbability))
                        }
                        out[r] = max(0, kl)
                    }
                }
            }
        }
        return perRow
    }
}
