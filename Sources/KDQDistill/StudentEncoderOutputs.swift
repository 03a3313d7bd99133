import Foundation
import KDQAnalysis
import KDQEngine
import KDQFormats
import KDQTensor
import KDQTrain

/// What a student's decoder attends to at run time when its encoder is not the teacher's: the
/// output of its own — a quantized encoder (QAT through a plan that re-encodes it) or a
/// pretrained student's (`kdq student --student MODEL`). The student's decoder trains on these
/// (the teacher's keeps its own), so it learns to read the encoder it will ship with. They are
/// computed once per clip and cached, with the clip's label, in a directory named after the
/// encoder's bytes.
public enum StudentEncoderOutputs {
    /// True when `student`'s encoder is not `teacher`'s: other dims, or some encoder tensor
    /// missing, in another encoding or with other bytes.
    public static func differs(_ student: Checkpoint, from teacher: Checkpoint) -> Bool {
        let s = student.dims, t = teacher.dims
        if s.nAudioLayer != t.nAudioLayer || s.nAudioState != t.nAudioState || s.nAudioCtx != t.nAudioCtx || s.nMels != t.nMels { return true }
        return teacher.tensors.contains { name, t in
            guard name.hasPrefix("encoder.") else { return false }
            guard let other = student.tensor(named: name), other.encoding == t.encoding, other.shape == t.shape else { return true }
            return !other.data.hasSameBytes(as: t.data) || other.scales?.hasSameBytes(as: t.scales) == false
        }
    }

    /// The cache directory under `workDirectory` for `student`'s encoder: its tensors' names,
    /// encodings and bytes hashed, so another encoder never reuses these outputs.
    public static func directory(_ student: Checkpoint, under workDirectory: String) -> String {
        let hasher = SHA256Hasher()
        for (name, t) in student.tensors.sorted(by: { $0.0 < $1.0 }) where name.hasPrefix("encoder.") {
            Data((name + "\u{0}" + t.encoding.rawValue + "\u{0}").utf8).withUnsafeBytes { hasher.update($0) }
            hasher.update(t.data.bytes)
        }
        return workDirectory + "/encoder-" + hasher.finalizeHex().prefix(16)
    }

    /// Caches the student encoder's output for each of `ids` (labelled clips of `labels`,
    /// whose encoder outputs have `labelValues` values) that `cache` lacks; `progress`
    /// receives clips done.
    public static func prepare(_ ids: [String], manifest: ClipManifest, model: WhisperModel, labels: ClipCache, labelValues: Int,
                               into cache: ClipCache, progress: (Int, Int) -> Void = { _, _ in }) throws {
        let audio = Dictionary(uniqueKeysWithValues: manifest.clips.map { ($0.id, $0.audio) })
        for (n, id) in ids.enumerated() {
            progress(n, ids.count)
            if cache.contains(id) { continue }
            guard let label = try labels.load(id, encoderValues: labelValues), let path = audio[id] else {
                throw TrainingError("clip \(id) is missing from \(labels.directory) or the manifest")
            }
            let encoded = try model.encoder.encode(model.melWindow(ofFile: path))
            try cache.store(TaughtClip(id: id, encoderOutput: encoded, tokens: label.tokens, promptLength: label.promptLength))
        }
        progress(ids.count, ids.count)
    }
}
