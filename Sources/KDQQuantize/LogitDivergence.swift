#if canImport(Glibc)
import Glibc
#endif

/// KL(p‖q) between a reference model's next-token distributions and a candidate's, from the
/// reference's log-probabilities and the candidate's logits (rows of `vocab`).
public enum LogitDivergence {
    /// Log-softmax of each row of `logits`, accumulated in double precision.
    public static func logSoftmax(_ logits: [Float], vocab: Int) -> [Float] {
        var out = [Float](repeating: 0, count: logits.count)
        for r in 0..<(logits.count / vocab) {
            let row = logits[(r * vocab)..<((r + 1) * vocab)]
            let top = row.max() ?? 0
            var sum = 0.0
            for v in row { sum += exp(Double(v - top)) }
            let shift = Double(top) + log(sum)
            for (i, v) in row.enumerated() { out[r * vocab + i] = Float(Double(v) - shift) }
        }
        return out
    }

    /// Σ over rows of KL(p‖q) (nats), and the row count. Rows whose reference and candidate
    /// agree to the last bit contribute 0.
    public static func summed(reference logP: [Float], candidate logits: [Float], vocab: Int) -> (total: Double, rows: Int) {
        let logQ = logSoftmax(logits, vocab: vocab)
        let rows = min(logP.count, logQ.count) / vocab
        var total = 0.0
        for r in 0..<rows {
            var kl = 0.0
            for i in (r * vocab)..<((r + 1) * vocab) {
                let lp = Double(logP[i])
                kl += exp(lp) * (lp - Double(logQ[i]))
            }
            total += max(0, kl)
        }
        return (total, rows)
    }
}
