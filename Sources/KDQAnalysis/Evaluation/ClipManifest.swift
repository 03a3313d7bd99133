import Foundation
import KDQJSON
import KDQTensor

/// Audio to train or calibrate on: JSON Lines with `id` and `audio` (relative to the manifest),
/// and `text` where a reference transcript exists (clips without one are labelled by a model).
public struct ClipManifest: Sendable {
    public struct Clip: Sendable {
        public let id: String
        public let audio: String
        public let text: String?
    }

    public let path: String
    public let clips: [Clip]

    public init(path: String) throws {
        let data: String
        do { data = try MappedFile.text(path) } catch {
            throw EvalError("cannot read manifest: \(error)", path: path)
        }
        let base = (path as NSString).deletingLastPathComponent
        var clips: [Clip] = []
        for (n, line) in data.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let v: JSONValue
            do { v = try JSONValue.parse(String(line)) } catch { throw EvalError("line \(n + 1): \(error)", path: path) }
            guard let id = v["id"]?.stringValue, let audio = v["audio"]?.stringValue else {
                throw EvalError("line \(n + 1) lacks a string id or audio", path: path)
            }
            let resolved = audio.hasPrefix("/") || base.isEmpty ? audio : base + "/" + audio
            clips.append(Clip(id: id, audio: resolved, text: v["text"]?.stringValue))
        }
        guard !clips.isEmpty else { throw EvalError("manifest lists no clips", path: path) }
        guard Set(clips.map(\.id)).count == clips.count else { throw EvalError("clip ids are not unique", path: path) }
        self.path = path
        self.clips = clips
    }

    /// `count` clips spread evenly over the manifest (all when it lists fewer).
    public func spread(_ count: Int) -> [Clip] { Self.spread(clips, count) }

    /// `count` of `items` spread evenly over them (all when there are fewer).
    public static func spread<T>(_ items: [T], _ count: Int) -> [T] {
        let n = min(count, items.count)
        return (0..<n).map { items[$0 * items.count / n] }
    }
}
