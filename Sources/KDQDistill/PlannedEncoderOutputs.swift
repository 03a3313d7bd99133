import Foundation
import KDQEngine
import KDQFormats
import KDQTensor
import KDQTrain

/// What a quantized student's decoder attends to at run time: the output of its own quantized
/// encoder, not the teacher's. Quantization-aware training through a plan that re-encodes the
/// encoder feeds the student these outputs (the teacher keeps its own), so the decoder learns to
/// read the encoder it will ship with. They are computed once per clip and cached, with the
/// clip's label, in a directory named after the planned encoder's bytes.
public enum PlannedEncoderOutputs {
    /// True when `planned` encodes some encoder tensor differently from `teacher`.
    public static func differs(_ planned: Checkpoint, from teacher: Checkpoint) -> Bool {
        planned.tensors.contains { name, t in name.hasPrefix("encoder.") && teacher.tensor(named: name)?.encoding != t.encoding }
    }

    /// The cache directory under `workDirectory` for `planned`'s encoder: its tensors' names,
    /// encodings and bytes hashed, so another plan never reuses these outputs.
    public static func directory(_ planned: Checkpoint, under workDirectory: String) -> String {
        let hasher = SHA256Hasher()
        for (name, t) in planned.tensors.sorted(by: { $0.0 < $1.0 }) where name.hasPrefix("encoder.") {
            Data((name + "\u{0}" + t.encoding.rawValue + "\u{0}").utf8).withUnsafeBytes { hasher.update($0) }
            hasher.update(t.data.bytes)
        }
        return workDirectory + "/encoder-" + hasher.finalizeHex().prefix(16)
    }

    /// Caches the planned encoder's output for each of `ids` (labelled clips of `labels`) that
    /// `cache` lacks; `progress` receives clips done.
    public static func prepare(_ ids: [String], manifest: ClipManifest, model: WhisperModel, labels: ClipCache, encoderValues: Int,
                               into cache: ClipCache, progress: (Int, Int) -> Void = { _, _ in }) throws {
        let audio = Dictionary(uniqueKeysWithValues: manifest.clips.map { ($0.id, $0.audio) })
        for (n, id) in ids.enumerated() {
            progress(n, ids.count)
            if cache.contains(id) { continue }
            guard let label = try labels.load(id, encoderValues: encoderValues), let path = audio[id] else {
                throw TrainingError("clip \(id) is missing from \(labels.directory) or the manifest")
            }
            let samples = Array(try AudioLoader.load(path).prefix(LogMelSpectrogram.windowSamples))
            let encoded = try model.encoder.encode(model.melWindow(samples))
            try cache.store(TaughtClip(id: id, encoderOutput: encoded, tokens: label.tokens, promptLength: label.promptLength))
        }
        progress(ids.count, ids.count)
    }
}
