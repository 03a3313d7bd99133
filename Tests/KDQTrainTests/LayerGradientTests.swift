import Testing
@testable import KDQTrain

/// Every layer's backward against central finite differences of L = Σ r ∘ layer(inputs), for a
/// fixed random r, along random directions of each input and parameter.
struct LayerGradientTests {
    static let tolerance = 2e-3

    /// Checks one tensor: prints and bounds the relative error of the directional derivative.
    func expectMatches(_ label: String, _ values: UnsafeMutablePointer<Float>, _ gradient: [Float], check: inout GradientCheck,
                       _ loss: () -> Double) {
        let r = check.compare(values: values, gradient: gradient, loss: loss)
        let error = GradientCheck.relativeError(r)
        print("\(label): analytic \(r.analytic) numeric \(r.numeric) relative error \(error) (tolerance \(Self.tolerance))")
        #expect(error <= Self.tolerance, "\(label)")
    }

    func weighted(_ y: UnsafePointer<Float>, _ r: [Float]) -> Double {
        r.indices.reduce(0.0) { $0 + Double(y[$1]) * Double(r[$1]) }
    }

    @Test func linear() {
        let m = 5, k = 12, n = 7
        let x = FloatBuffer(copying: randomValues(m * k, seed: 1), count: m * k)
        let w = FloatBuffer(copying: randomValues(n * k, scale: 0.5, seed: 2), count: n * k)
        let b = FloatBuffer(copying: randomValues(n, seed: 3), count: n)
        let r = randomValues(m * n, seed: 4)
        let y = FloatBuffer(m * n)
        func loss() -> Double {
            Linear.forward(x.pointer, m, k, w.pointer, n, bias: b.pointer, into: y.pointer)
            return weighted(y.pointer, r)
        }
        let dx = FloatBuffer(m * k), dw = FloatBuffer(n * k), db = FloatBuffer(n)
        Linear.backward(r, m, n, x: x.pointer, k, w: w.pointer, dx: dx.pointer, dw: dw.pointer, db: db.pointer)
        var check = GradientCheck()
        expectMatches("linear x", x.pointer, dx.array, check: &check, loss)
        expectMatches("linear W", w.pointer, dw.array, check: &check, loss)
        expectMatches("linear b", b.pointer, db.array, check: &check, loss)
    }

    @Test func layerNorm() {
        let rows = 4, n = 16
        let x = FloatBuffer(copying: randomValues(rows * n, scale: 2, seed: 5), count: rows * n)
        let g = FloatBuffer(copying: randomValues(n, seed: 6).map { 1 + $0 / 2 }, count: n)
        let b = FloatBuffer(copying: randomValues(n, seed: 7), count: n)
        let r = randomValues(rows * n, seed: 8)
        let y = FloatBuffer(rows * n), mean = FloatBuffer(rows), rstd = FloatBuffer(rows)
        func loss() -> Double {
            LayerNorm.forward(x.pointer, rows, n, gamma: g.pointer, beta: b.pointer, into: y.pointer, mean: mean.pointer, rstd: rstd.pointer)
            return weighted(y.pointer, r)
        }
        _ = loss()
        let dx = FloatBuffer(rows * n), dg = FloatBuffer(n), db = FloatBuffer(n)
        LayerNorm.backward(r, x: x.pointer, rows, n, gamma: g.pointer, mean: mean.pointer, rstd: rstd.pointer, dx: dx.pointer,
                           accumulate: false, dGamma: dg.pointer, dBeta: db.pointer)
        var check = GradientCheck()
        expectMatches("layer norm x", x.pointer, dx.array, check: &check, loss)
        expectMatches("layer norm gamma", g.pointer, dg.array, check: &check, loss)
        expectMatches("layer norm beta", b.pointer, db.array, check: &check, loss)
    }

    @Test func gelu() {
        let count = 64
        let x = FloatBuffer(copying: randomValues(count, scale: 3, seed: 9), count: count)
        let r = randomValues(count, seed: 10)
        let y = FloatBuffer(count)
        func loss() -> Double {
            GELU.forward(x.pointer, into: y.pointer, count)
            return weighted(y.pointer, r)
        }
        let dx = FloatBuffer(copying: r, count: count)
        GELU.backward(dx.pointer, preActivation: x.pointer, count)
        var check = GradientCheck()
        expectMatches("gelu x", x.pointer, dx.array, check: &check, loss)
    }

    @Test(arguments: [true, false]) func attention(causal: Bool) {
        let batch = 2, nq = 5, nk = causal ? 5 : 9, width = 12, heads = 3
        let mha = MultiHeadAttention(batch: batch, nq: nq, nk: nk, width: width, heads: heads, causal: causal)
        let q = FloatBuffer(copying: randomValues(batch * nq * width, seed: 11), count: batch * nq * width)
        let k = FloatBuffer(copying: randomValues(batch * nk * width, seed: 12), count: batch * nk * width)
        let v = FloatBuffer(copying: randomValues(batch * nk * width, seed: 13), count: batch * nk * width)
        let r = randomValues(batch * nq * width, seed: 14)
        let p = FloatBuffer(mha.probabilityCount), out = FloatBuffer(batch * nq * width)
        func loss() -> Double {
            mha.forward(q: q.pointer, k: k.pointer, v: v.pointer, probabilities: p.pointer, into: out.pointer)
            return weighted(out.pointer, r)
        }
        _ = loss()
        let dq = FloatBuffer(q.count), dk = FloatBuffer(k.count), dv = FloatBuffer(v.count)
        mha.backward(dOut: r, q: q.pointer, k: k.pointer, v: v.pointer, probabilities: p.pointer, dq: dq.pointer, dk: dk.pointer, dv: dv.pointer)
        var check = GradientCheck()
        let label = causal ? "causal attention" : "cross attention"
        expectMatches("\(label) q", q.pointer, dq.array, check: &check, loss)
        expectMatches("\(label) k", k.pointer, dk.array, check: &check, loss)
        expectMatches("\(label) v", v.pointer, dv.array, check: &check, loss)
        if causal {
            // A query never sees a later key: its output does not move when that key does.
            #expect(p.pointer[1] == 0)
        }
    }
}

/// The fused output projection + cross-entropy + KL against finite differences, at T = 1 (its
/// own path), T = 2, and without a teacher (cross-entropy alone).
struct VocabularyLossGradientTests {
    @Test(arguments: [1.0, 2.0, 0.0]) func vocabularyLoss(temperature: Double) {
        let rows = 6, w = 8, v = 300
        let hidden = FloatBuffer(copying: randomValues(rows * w, seed: 61), count: rows * w)
        let embedding = FloatBuffer(copying: randomValues(v * w, seed: 62), count: v * w)
        let teacherHidden = randomValues(rows * w, seed: 63), teacherEmbedding = randomValues(v * w, seed: 64)
        let targets: [Int32] = [-1, 5, 299, 0, -1, 17]
        let hasTeacher = temperature > 0
        var loss = VocabularyLoss(objective: DistillationObjective(alpha: 0.6, temperature: hasTeacher ? temperature : 1))
        loss.chunkRows = 3  // more than one chunk
        let dHidden = FloatBuffer(rows * w), dEmbedding = FloatBuffer(v * w)
        func run() -> Double {
            teacherHidden.withUnsafeBufferPointer { th in
                teacherEmbedding.withUnsafeBufferPointer { te in
                    let teacher = hasTeacher ? VocabularyLoss.Side(hidden: th.baseAddress!, embedding: te.baseAddress!, width: w) : nil
                    return loss.run(student: .init(hidden: hidden.pointer, embedding: embedding.pointer, width: w), teacher: teacher,
                                    vocabulary: v, targets: targets, dHidden: dHidden.pointer, dEmbedding: dEmbedding.pointer).total
                }
            }
        }
        _ = run()
        let gHidden = dHidden.array, gEmbedding = dEmbedding.array
        var check = GradientCheck()
        for (label, values, gradient) in [("hidden", hidden.pointer, gHidden), ("embedding", embedding.pointer, gEmbedding)] {
            let r = check.compare(values: values, gradient: gradient) { run() }
            let error = GradientCheck.relativeError(r)
            print("vocabulary loss (T \(temperature)) \(label): analytic \(r.analytic) numeric \(r.numeric) relative error \(error)")
            #expect(error <= LayerGradientTests.tolerance, "\(label)")
        }
        // Masked positions get no gradient.
        #expect(gHidden[0..<w].allSatisfy { $0 == 0 })
    }
}
