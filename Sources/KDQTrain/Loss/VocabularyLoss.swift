import CBLAS
import KDQEngine
#if canImport(Glibc)
import Glibc
#endif

/// Cross-entropy and KL over the vocabulary, fused with the tied output projection: the logits
/// of a chunk of target positions are made (student and teacher), turned into their gradient in
/// place, and projected back, so no full batch × vocabulary array ever exists.
struct VocabularyLoss {
    let objective: DistillationObjective
    /// Positions per chunk (a chunk holds chunk × n_vocab logits per model).
    var chunkRows = 64

    /// One side's final normed hidden state and its tied embedding.
    struct Side {
        let hidden: UnsafePointer<Float>
        let embedding: UnsafePointer<Float>
        let width: Int
    }

    /// Loss of `student` against `targets` (and `teacher`'s distributions when given); writes
    /// d(loss)/d(student hidden) into `dHidden` (rows × width) and adds the embedding's gradient
    /// into `dEmbedding`.
    func run(student: Side, teacher: Side?, vocabulary v: Int, targets: [Int32], dHidden: UnsafeMutablePointer<Float>,
             dEmbedding: UnsafeMutablePointer<Float>?) -> LossComponents {
        let rows = targets.count, w = student.width
        dHidden.update(repeating: 0, count: rows * w)
        let positions = targets.indices.filter { targets[$0] >= 0 }
        var result = LossComponents()
        result.positions = positions.count
        guard !positions.isEmpty else { return result }
        let n = Double(positions.count)
        let alpha = teacher == nil ? 0 : objective.alpha
        let ceWeight = Float((1 - alpha) / n), klWeight = Float(alpha / n)
        let temperature = Float(objective.temperature)
        let c = min(chunkRows, positions.count)
        let hs = UnsafeMutablePointer<Float>.allocate(capacity: c * w), logits = UnsafeMutablePointer<Float>.allocate(capacity: c * v)
        let ht = UnsafeMutablePointer<Float>.allocate(capacity: c * (teacher?.width ?? 1))
        let tl = UnsafeMutablePointer<Float>.allocate(capacity: teacher == nil ? 1 : c * v)
        let dh = UnsafeMutablePointer<Float>.allocate(capacity: c * w)
        var ce = [Double](repeating: 0, count: c), kl = [Double](repeating: 0, count: c)
        defer { hs.deallocate(); logits.deallocate(); ht.deallocate(); tl.deallocate(); dh.deallocate() }
        var totalCE: Double = 0, totalKL: Double = 0
        for start in stride(from: 0, to: positions.count, by: c) {
            let chunk = Array(positions[start..<min(positions.count, start + c)]), m = chunk.count
            for (i, r) in chunk.enumerated() { (hs + i * w).update(from: student.hidden + r * w, count: w) }
            Kernels.linear(hs, m, w, student.embedding, v, bias: nil, into: logits)
            if let teacher {
                let tw = teacher.width
                for (i, r) in chunk.enumerated() { (ht + i * tw).update(from: teacher.hidden + r * tw, count: tw) }
                Kernels.linear(ht, m, tw, teacher.embedding, v, bias: nil, into: tl)
            }
            ce.withUnsafeMutableBufferPointer { ceRows in
                kl.withUnsafeMutableBufferPointer { klRows in
                    Kernels.parallelRows(m) { i in
                        let z = logits + i * v
                        let target = Int(targets[chunk[i]])
                        let (ceValue, klValue) = Self.rowGradient(z, teacher: teacher == nil ? nil : UnsafePointer(tl + i * v), count: v,
                                                                  target: target, temperature: temperature, ceWeight: ceWeight,
                                                                  klWeight: klWeight)
                        ceRows[i] = ceValue
                        klRows[i] = klValue
                    }
                }
            }
            for i in 0..<m { totalCE += ce[i]; totalKL += kl[i] }
            // dH = dZ·E, dE += dZᵀ·H
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(w), Int32(v), 1, logits, Int32(v),
                        student.embedding, Int32(w), 0, dh, Int32(w))
            for (i, r) in chunk.enumerated() { (dHidden + r * w).update(from: dh + i * w, count: w) }
            if let dEmbedding {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(v), Int32(w), Int32(m), 1, logits, Int32(v),
                            hs, Int32(w), 1, dEmbedding, Int32(w))
            }
        }
        result.crossEntropy = totalCE / n
        result.kl = teacher == nil ? 0 : totalKL / n * Double(temperature * temperature)
        result.total = (1 - alpha) * result.crossEntropy + alpha * result.kl
        return result
    }

    /// One position: its cross-entropy and KL (before T²), and the row of logits replaced by the
    /// gradient of ceWeight·CE + klWeight·T²·KL with respect to them.
    static func rowGradient(_ z: UnsafeMutablePointer<Float>, teacher t: UnsafePointer<Float>?, count v: Int, target: Int,
                            temperature: Float, ceWeight: Float, klWeight: Float) -> (Double, Double) {
        let (zMax, zSum) = logSumExpParts(z, v, scale: 1)
        let logZ = Double(zMax) + log(zSum)
        let ce = logZ - Double(z[target])
        guard let t else {
            for j in 0..<v { z[j] = ceWeight * Float(exp(Double(z[j]) - logZ)) }
            z[target] -= ceWeight
            return (ce, 0)
        }
        let invT = 1 / temperature
        let (sMax, sSum) = logSumExpParts(z, v, scale: invT)
        let logS = Double(sMax) + log(sSum)
        let (tMax, tSum) = logSumExpParts(UnsafeMutablePointer(mutating: t), v, scale: invT)
        let logT = Double(tMax) + log(tSum)
        var kl: Double = 0
        let klScale = klWeight * temperature
        for j in 0..<v {
            let zj = Double(z[j])
            let logPt = Double(t[j] * invT) - logT, logQ = zj * Double(invT) - logS
            let pt = exp(logPt)
            kl += pt * (logPt - logQ)
            let grad = ceWeight * Float(exp(zj - logZ)) + klScale * Float(exp(logQ) - pt)
            z[j] = grad
        }
        z[target] -= ceWeight
        return (ce, kl)
    }

    /// max(s·z) and Σ exp(s·z − max) in double.
    @inline(__always) static func logSumExpParts(_ z: UnsafeMutablePointer<Float>, _ v: Int, scale: Float) -> (Float, Double) {
        var m = -Float.infinity
        for j in 0..<v { m = max(m, z[j] * scale) }
        var s: Double = 0
        for j in 0..<v { s += Double(expf(z[j] * scale - m)) }
        return (m, s)
    }
}
