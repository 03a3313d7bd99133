// Times training steps of a layer-pruned student against its teacher (scripts/bench-train-step.sh
// runs it beside PyTorch): the same batch as scripts/torch-train-step.py, encoder frozen and its
// output computed once, teacher logits computed in every step. Prints one JSON line.
//   kdq-train-bench MODEL --decoder-layers 0,5 --hidden-map 0,5 --batch 8 --length 64 --steps 5
import Foundation
import KDQFormats
import KDQTrain
#if canImport(Glibc)
import Glibc
#endif

func option(_ name: String, _ fallback: String) -> String {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return fallback }
    return args[i + 1]
}

func run() throws {
    guard CommandLine.arguments.count > 1, !CommandLine.arguments[1].hasPrefix("-") else {
        throw TrainingError("usage: kdq-train-bench MODEL [--decoder-layers 0,5] [--hidden-map 0,5] [--batch 8] [--length 64] [--steps 5]")
    }
    let model = CommandLine.arguments[1]
    let layers = option("--decoder-layers", "0,5").split(separator: ",").compactMap { Int($0) }
    let hiddenMap = option("--hidden-map", "0,5").split(separator: ",").compactMap { Int($0) }
    let batchSize = Int(option("--batch", "8")) ?? 8, length = Int(option("--length", "64")) ?? 64
    let steps = Int(option("--steps", "5")) ?? 5
    let checkpoint = try Checkpoint.open(model)
    let (dims, pruned) = try LayerPruning.prune(checkpoint, decoderLayers: layers)
    var tensors = pruned
    for i in hiddenMap.indices {
        tensors += try HiddenStateLoss.adapterTensors(layer: i, studentWidth: dims.nTextState, teacherWidth: dims.nTextState)
    }
    let student = try ParameterStore(dims: dims, tensors: tensors) { !$0.hasPrefix("encoder.") }
    let teacher = try ParameterStore(checkpoint) { _ in false }
    let trainer = try DistillationTrainer(student: student, teacher: teacher,
                                          objective: DistillationObjective(alpha: 0.9, beta: 0.5, temperature: 2, normalizeHidden: true),
                                          layerMap: Dictionary(uniqueKeysWithValues: hiddenMap.enumerated().map { ($0, $1) }))
    // The batch torch-train-step.py builds.
    let v = dims.nVocab
    var tokens: [Int32] = [], targets: [Int32] = []
    for b in 0..<batchSize {
        let row = (0..<length).map { Int32((37 * b + 101 * $0 + 5) % v) }
        tokens += row
        var t = Array(row.dropFirst()) + [Int32((Int(row[length - 1]) * 7 + 3) % v)]
        t[0] = -1
        if b == 1 { for i in (length - 2)..<length { t[i] = -1 } }
        targets += t
    }
    let batch = try TokenBatch(batch: batchSize, length: length, tokens: tokens, targets: targets)
    let frames = 2 * dims.nAudioCtx
    var mel = [Float](repeating: 0, count: batchSize * dims.nMels * frames)
    for b in 0..<batchSize {
        for c in 0..<dims.nMels {
            for t in 0..<frames { mel[(b * dims.nMels + c) * frames + t] = Float(0.8 * sin(0.05 * Double(c + 1) * Double(b + 1) + 0.0021 * Double(t))) }
        }
    }
    // The frozen encoder's output, a window at a time (its saved activations are not needed).
    let encoder = EncoderGraph(dims: checkpoint.dims), window = dims.nMels * frames
    var encoded: [Float] = []
    for b in 0..<batchSize {
        encoded += try encoder.forward(teacher, mel: Array(mel[(b * window)..<((b + 1) * window)]), batch: 1).resultArray
    }
    let audio = DistillationTrainer.Audio.encoded(encoded)
    _ = try trainer.step(batch, audio: audio, learningRate: 1e-4)  // warm-up
    let start = DispatchTime.now().uptimeNanoseconds
    var last = LossComponents()
    for _ in 0..<steps { last = try trainer.step(batch, audio: audio, learningRate: 1e-4).loss }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(steps)
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    print("{\"seconds_per_step\": \(seconds), \"batch\": \(batchSize), \"length\": \(length), \"peak_rss_mb\": \(Double(usage.ru_maxrss) / 1024), \"tokens_per_second\": \(Double(batchSize * length) / seconds), \"loss\": \(last.total)}")
}

do { try run() } catch {
    FileHandle.standardError.write("kdq-train-bench: \(error)\n".data(using: .utf8)!)
    exit(1)
}
