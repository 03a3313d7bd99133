import Foundation
import KDQFormats
import KDQTensor
import KDQTestSupport
import Testing
@testable import KDQTrain

/// One training step against PyTorch with openai-whisper's model (scripts/torch-train-step.py):
/// loss components within 1e-4 relative, every trained tensor's gradient and AdamW update within
/// 1e-3 relative in norm; and kdq's clipping + AdamW on torch's own gradients within 1e-3.
@Suite(.serialized) struct TorchAgreementTests {
    static let lossTolerance = 1e-4
    static let tensorTolerance = 1e-3
    static let optimizerTolerance = 1e-3

    /// The closed-form log-mel the script builds.
    static func mel(batch: Int, dims: ModelDims) -> [Float] {
        let frames = 2 * dims.nAudioCtx
        var out = [Float](repeating: 0, count: batch * dims.nMels * frames)
        for b in 0..<batch {
            for c in 0..<dims.nMels {
                for t in 0..<frames {
                    out[(b * dims.nMels + c) * frames + t] = Float(0.8 * sin(0.05 * Double(c + 1) * Double(b + 1) + 0.0021 * Double(t)))
                }
            }
        }
        return out
    }

    /// ‖a − b‖ / ‖b‖.
    static func normError(_ a: [Float], _ b: [Float]) -> Double {
        var diff: Double = 0, ref: Double = 0
        for (x, y) in zip(a, b) { diff += Double(x - y) * Double(x - y); ref += Double(y) * Double(y) }
        return (diff / max(ref, 1e-300)).squareRoot()
    }

    /// Runs kdq's step on the golden's model and batch and compares.
    static func compare(model: String, golden path: String) throws {
        let g = try SafetensorsGolden(path)
        let checkpoint = try Checkpoint.open(model)
        let frozenEncoder = g.metadata["frozen_encoder"] == "1"
        let hiddenMap = g.list("hidden_map")
        let (dims, pruned) = try LayerPruning.prune(checkpoint, decoderLayers: g.list("decoder_layers"))
        var tensors = pruned
        for i in hiddenMap.indices {
            tensors += try HiddenStateLoss.adapterTensors(layer: i, studentWidth: dims.nTextState, teacherWidth: dims.nTextState)
        }
        // openai-whisper's encoder positions are a buffer, not a parameter.
        let student = try ParameterStore(dims: dims, tensors: tensors) { name in
            name != "encoder.positional_embedding" && !(frozenEncoder && name.hasPrefix("encoder."))
        }
        let teacher = try ParameterStore(checkpoint) { _ in false }
        let objective = DistillationObjective(alpha: try g.number("alpha"), beta: try g.number("beta"),
                                              temperature: try g.number("temperature"), normalizeHidden: try g.number("normalize") == 1)
        let trainer = try DistillationTrainer(student: student, teacher: teacher, objective: objective,
                                              layerMap: Dictionary(uniqueKeysWithValues: hiddenMap.enumerated().map { ($0, $1) }),
                                              optimizer: AdamW(epsilon: g.metadata["eps"].flatMap(Double.init) ?? 1e-8,
                                                               weightDecay: try g.number("weight_decay")),
                                              maxGradientNorm: try g.number("max_norm"))
        let batchSize = Int(try g.number("batch")), length = Int(try g.number("length"))
        let batch = try TokenBatch(batch: batchSize, length: length, tokens: try g.floats("tokens").map { Int32($0) },
                                   targets: try g.floats("targets").map { Int32($0) })
        let mel = Self.mel(batch: batchSize, dims: dims)
        let audio: DistillationTrainer.Audio
        if frozenEncoder, g.tensors["encoder_out"] != nil {
            audio = .encoded(try g.floats("encoder_out"))  // a frozen encoder's output is an input of the step
        } else if frozenEncoder {
            let encoderGraph = EncoderGraph(dims: checkpoint.dims)
            let a = try encoderGraph.forward(teacher, mel: mel, batch: batchSize)
            audio = .encoded(a.resultArray)
        } else {
            audio = .mel(mel)
        }
        let loss = try trainer.computeGradients(batch, audio: audio)
        let reference = try g.floats("loss").map(Double.init)
        for (label, ours, theirs) in [("total", loss.total, reference[0]), ("cross-entropy", loss.crossEntropy, reference[1]),
                                      ("KL", loss.kl, reference[2]), ("hidden", loss.hidden, reference[3])] {
            let error = abs(ours - theirs) / max(abs(theirs), 1e-12)
            print("loss \(label): kdq \(ours) torch \(theirs) relative difference \(error) (tolerance \(lossTolerance))")
            #expect(error <= lossTolerance, "loss \(label)")
        }
        let trained = student.entries.filter(\.isTrainable).map(\.name)
        let goldenNames = Set(g.tensors.keys.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) })
        #expect(Set(trained) == goldenNames, "trained tensors differ from torch's")
        let initial = try Dictionary(uniqueKeysWithValues: trained.map { ($0, try student.array($0)) })
        var worstGradient = 0.0, worstUpdate = 0.0
        for name in trained {
            let error = normError(try student.gradientArray(name), try g.floats("grad." + name))
            worstGradient = max(worstGradient, error)
            #expect(error <= tensorTolerance, "gradient of \(name): relative difference \(error)")
        }
        let norm = clipGradients(student, maxNorm: trainer.maxGradientNorm)
        trainer.optimizer.update(student, learningRate: try g.number("lr"), decays: trainer.decays)
        for name in trained {
            let ours = zip(try student.array(name), initial[name]!).map { $0 - $1 }
            let theirs = zip(try g.floats("updated." + name), initial[name]!).map { $0 - $1 }
            let error = normError(ours, theirs)
            worstUpdate = max(worstUpdate, error)
            #expect(error <= tensorTolerance, "update of \(name): relative difference \(error)")
        }
        // kdq's optimizer on torch's gradients: the update alone.
        var worstOptimizer = 0.0
        for name in trained {
            try student.value(name).update(from: initial[name]!, count: initial[name]!.count)
            let g = try g.floats("grad." + name)
            try student.gradient(name)!.update(from: g, count: g.count)
        }
        student.zeroMoments()
        var optimizer = AdamW(epsilon: trainer.optimizer.epsilon, weightDecay: trainer.optimizer.weightDecay)
        clipGradients(student, maxNorm: trainer.maxGradientNorm)
        optimizer.update(student, learningRate: try g.number("lr"), decays: trainer.decays)
        for name in trained {
            let ours = zip(try student.array(name), initial[name]!).map { $0 - $1 }
            let theirs = zip(try g.floats("updated." + name), initial[name]!).map { $0 - $1 }
            worstOptimizer = max(worstOptimizer, normError(ours, theirs))
        }
        #expect(worstOptimizer <= optimizerTolerance)
        print("\(trained.count) tensors, gradient norm \(norm): worst gradient difference \(worstGradient), worst update difference \(worstUpdate) (tolerance \(tensorTolerance)); AdamW on torch's gradients: worst update difference \(worstOptimizer) (tolerance \(optimizerTolerance))")
    }

    @Test func randomFixtureStepMatchesTorch() throws {
        try Self.compare(model: TrainFixtures.randomModel, golden: TrainFixtures.golden)
    }

    /// The real base model with a 2-layer student (golden and HF export made by
    /// scripts/torch-agreement-base.sh; runs when they are present).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: TrainFixtures.baseGolden), "needs scripts/torch-agreement-base.sh"))
    func baseStudentStepMatchesTorch() throws {
        try Self.compare(model: TrainFixtures.packageRoot + "/models/base", golden: TrainFixtures.baseGolden)
    }
}

extension SafetensorsGolden {
    /// A number of the script's settings.
    func number(_ key: String) throws -> Double {
        guard let v = metadata[key].flatMap(Double.init) else { throw TrainingError("golden metadata lacks '\(key)'") }
        return v
    }

    /// A comma-separated list of the script's settings.
    func list(_ key: String) -> [Int] { (metadata[key] ?? "").split(separator: ",").compactMap { Int($0) } }
}
