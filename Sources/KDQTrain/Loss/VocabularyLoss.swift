import CBLAS
import KDQEngine
#if canImport(Glibc)
import Glibc
#endif

/// Cross-entropy and KL over the vocabulary, fused with the tied output projection: the logits
/// of a chunk of target positions are made (student and teacher), turned into their gradient in
/// place, and projected back, so no full batch × vocabulary array ever exists.
public struct VocabularyLoss {
    public let objective: DistillationObjective
    /// Positions per chunk (a chunk holds chunk × n_vocab logits per model).
    public var chunkRows = 128

    public init(objective: DistillationObjective) { self.objective = objective }

    /// One side's final normed hidden state and its tied embedding.
    public struct Side {
        let hidden: UnsafePointer<Float>
        let embedding: UnsafePointer<Float>
        let width: Int

        public init(hidden: UnsafePointer<Float>, embedding: UnsafePointer<Float>, width: Int) {
            self.hidden = hidden
            self.embedding = embedding
            self.width = width
        }
    }

    /// Loss of `student` against `targets` (and `teacher`'s distributions when given); writes
    /// d(loss)/d(student hidden) into `dHidden` (rows × width) and adds the embedding's gradient
    /// into `dEmbedding`.
    public func run(student: Side, teacher: Side?, vocabulary v: Int, targets: [Int32], dHidden: UnsafeMutablePointer<Float>,
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
                        let (ceValue, klValue) = Self.rowGradient(z, teacher: teacher == nil ? nil : tl + i * v, count: v,
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
    /// gradient of ceWeight·CE + klWeight·T²·KL with respect to them. With a = z/T and b = t/T,
    /// KL = Σ p_b·(b − a) − logΣe^b + logΣe^a, so each exponential is taken once (twice for z when
    /// T ≠ 1) and kept in place of its logit.
    static func rowGradient(_ z: UnsafeMutablePointer<Float>, teacher t: UnsafeMutablePointer<Float>?, count v: Int, target: Int,
                            temperature: Float, ceWeight: Float, klWeight: Float) -> (Double, Double) {
        let invT = 1 / temperature
        var zMax = -Float.infinity
        for j in 0..<v { zMax = max(zMax, z[j]) }
        let zTarget = z[target]
        guard let t else {
            var sum: Double = 0
            for j in 0..<v { let e = expf(z[j] - zMax); z[j] = e; sum += Double(e) }
            let scale = ceWeight / Float(sum)
            for j in 0..<v { z[j] *= scale }
            z[target] -= ceWeight
            return (Double(zMax) + log(sum) - Double(zTarget), 0)
        }
        var tMax = -Float.infinity
        for j in 0..<v { tMax = max(tMax, t[j]) }
        // Teacher: e^(b − max b), and Σ p·(b − a) unnormalized, while z is intact.
        var tSum: Double = 0, dot: Double = 0
        for j in 0..<v {
            let e = expf((t[j] - tMax) * invT)
            dot += Double(e) * Double((t[j] - z[j]) * invT)
            tSum += Double(e)
            t[j] = e
        }
        let logT = Double(tMax * invT) + log(tSum)
        let klScale = klWeight * temperature, pScale = Float(1 / tSum)
        if temperature == 1 {
            var sum: Double = 0
            for j in 0..<v { let e = expf(z[j] - zMax); z[j] = e; sum += Double(e) }
            let logZ = Double(zMax) + log(sum)
            let qScale = (ceWeight + klScale) / Float(sum), tScale = klScale * pScale
            for j in 0..<v { z[j] = qScale * z[j] - tScale * t[j] }
            z[target] -= ceWeight
            return (logZ - Double(zTarget), dot / tSum - logT + logZ)
        }
        var sSum: Double = 0, zSum: Double = 0
        for j in 0..<v {
            sSum += Double(expf((z[j] - zMax) * invT))
            zSum += Double(expf(z[j] - zMax))
        }
        let logS = Double(zMax * invT) + log(sSum), logZ = Double(zMax) + log(zSum)
        let ce = logZ - Double(zTarget), kl = dot / tSum - logT + logS
        let sScale = klScale / Float(sSum), zScale = ceWeight / Float(zSum), tScale = klScale * pScale
        for j in 0..<v {
            let x = z[j] - zMax
            z[j] = zScale * expf(x) + sScale * expf(x * invT) - tScale * t[j]
        }
        z[target] -= ceWeight
        return (ce, kl)
    }
}
