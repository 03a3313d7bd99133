import Foundation
import KDQAnalysis
import KDQEngine
import KDQJSON
import KDQTrain

/// Prepares training clips once, into a `ClipCache`: the frozen encoder's output of each clip
/// (one padded 30-second window) and its label — the reference text where the manifest has one
/// (the clip is dropped when the teacher's transcript disagrees with it beyond a WER threshold,
/// as distil-whisper does), else the teacher's own greedy transcript (dropped when
/// `GreedyLabel` finds it unusable: it never ends or is empty). Drops are remembered in the work directory too.
public struct ClipLabeller {
    public let teacher: WhisperModel
    public let options: DecodingOptions
    public let cache: ClipCache
    /// Largest teacher-vs-reference WER a clip with a reference may have.
    public var maxReferenceWER = 0.2

    public init(teacher: WhisperModel, options: DecodingOptions, cache: ClipCache) {
        self.teacher = teacher
        self.options = options
        self.cache = cache
    }

    /// Why clips were left out.
    public struct Drop: Sendable { public let id: String; public let reason: String }

    var dropsPath: String { cache.directory + "/dropped.jsonl" }

    /// The ids of `clips` that are usable, in order, labelling what the cache lacks; `progress`
    /// receives clips done.
    public func prepare(_ clips: [ClipManifest.Clip], progress: (Int, Int) -> Void = { _, _ in }) throws -> (kept: [String], dropped: [Drop]) {
        var dropped = try previousDrops()
        let known = Set(dropped.map(\.id))
        var kept: [String] = []
        let normalize = EnglishTextNormalizer()
        for (n, clip) in clips.enumerated() {
            progress(n, clips.count)
            if known.contains(clip.id) { continue }
            if cache.contains(clip.id) { kept.append(clip.id); continue }
            let samples = try AudioLoader.window(clip.audio)
            let labelled = try TaughtClip.teacherLabelled(id: clip.id, samples: samples, teacher: teacher, options: options)
            var reason: String?
            var taught = labelled
            if let text = clip.text {
                let heard = try teacher.tokenizer().decode(Array(labelled.tokens[labelled.promptLength..<(labelled.tokens.count - 1)]))
                let wer = EditCounts.words(reference: normalize(text), hypothesis: normalize(heard)).rate
                if wer > maxReferenceWER {
                    reason = "teacher WER \(wer) against the reference"
                } else {
                    taught = TaughtClip(id: clip.id, encoderOutput: labelled.encoderOutput,
                                        tokens: try teacher.teacherSequence(text: text, options: options), promptLength: labelled.promptLength)
                }
            } else {
                reason = GreedyLabel(tokens: labelled.tokens, promptLength: labelled.promptLength).unusable
            }
            if let reason {
                dropped.append(Drop(id: clip.id, reason: reason))
                try appendDrop(dropped.last!)
            } else {
                try cache.store(taught)
                kept.append(clip.id)
            }
        }
        progress(clips.count, clips.count)
        let wanted = Set(clips.map(\.id))
        return (kept, dropped.filter { wanted.contains($0.id) })
    }

    private func previousDrops() throws -> [Drop] {
        guard let text = try? String(contentsOfFile: dropsPath, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map {
            let v = try JSONValue.parse(String($0))
            guard let id = v["id"]?.stringValue, let reason = v["reason"]?.stringValue else { throw TrainingError("\(dropsPath): bad line '\($0)'") }
            return Drop(id: id, reason: reason)
        }
    }

    private func appendDrop(_ d: Drop) throws {
        let line = JSONValue.object(["id": .string(d.id), "reason": .string(d.reason)]).serialized(pretty: false) + "\n"
        if let h = FileHandle(forWritingAtPath: dropsPath) {
            defer { try? h.close() }
            try h.seekToEnd()
            try h.write(contentsOf: Data(line.utf8))
        } else if !FileManager.default.createFile(atPath: dropsPath, contents: Data(line.utf8)) {
            throw TrainingError("cannot write \(dropsPath)")
        }
    }
}
