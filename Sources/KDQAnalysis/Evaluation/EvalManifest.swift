import Foundation
import KDQTensor
import KDQJSON

/// An evaluation set: JSON Lines with `id`, `audio` (relative to the manifest) and `text`,
/// or a TSV with a header naming those columns.
public struct EvalManifest: Sendable {
    public struct Utterance: Sendable {
        public let id: String
        /// Absolute or manifest-relative path resolved against the manifest's folder.
        public let audio: String
        public let text: String
    }

    public let utterances: [Utterance]

    public init(path: String) throws {
        let text: String
        do { text = try MappedFile.text(path) } catch { throw EvalError("cannot read manifest: \(error)", path: path) }
        let base = (path as NSString).deletingLastPathComponent
        func resolve(_ audio: String) -> String { audio.hasPrefix("/") || base.isEmpty ? audio : base + "/" + audio }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        var out: [Utterance] = []
        if path.hasSuffix(".tsv") {
            guard let header = lines.first?.split(separator: "\t", omittingEmptySubsequences: false).map(String.init),
                  let id = header.firstIndex(of: "id"), let audio = header.firstIndex(of: "audio"), let ref = header.firstIndex(of: "text") else {
                throw EvalError("TSV header must name the columns id, audio and text", path: path)
            }
            for (n, line) in lines.dropFirst().enumerated() {
                let cols = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                guard cols.count > max(id, audio, ref) else { throw EvalError("line \(n + 2) has \(cols.count) columns", path: path) }
                out.append(Utterance(id: cols[id], audio: resolve(cols[audio]), text: cols[ref]))
            }
        } else {
            for (n, line) in lines.enumerated() {
                let v: JSONValue
                do { v = try JSONValue.parse(line) } catch { throw EvalError("line \(n + 1): \(error)", path: path) }
                guard let id = v["id"]?.stringValue, let audio = v["audio"]?.stringValue, let ref = v["text"]?.stringValue else {
                    throw EvalError("line \(n + 1) lacks a string id, audio or text", path: path)
                }
                out.append(Utterance(id: id, audio: resolve(audio), text: ref))
            }
        }
        guard !out.isEmpty else { throw EvalError("manifest lists no utterances", path: path) }
        guard Set(out.map(\.id)).count == out.count else { throw EvalError("manifest ids are not unique", path: path) }
        utterances = out
    }
}

/// A bad manifest or results file.
public struct EvalError: Error, CustomStringConvertible {
    public let message: String
    public let path: String?
    public init(_ message: String, path: String? = nil) {
        self.message = message
        self.path = path
    }
    public var description: String { path.map { "\($0): \(message)" } ?? message }
}
