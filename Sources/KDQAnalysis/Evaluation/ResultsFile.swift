import Foundation
import KDQJSON

/// The per-utterance JSON Lines file of `kdq eval --out`: read back to resume an interrupted
/// run, appended to line by line (each line flushed) as utterances finish.
public final class ResultsFile {
    public let path: String
    private let handle: FileHandle

    /// Opens `path` for appending (creating it), returning it and the results already in it.
    /// A last line cut short by an interrupt is cut off; any other malformed line is an error.
    public static func open(_ path: String, normalize: Bool) throws -> (ResultsFile, [UtteranceResult]) {
        var previous: [UtteranceResult] = []
        var keep: UInt64 = 0
        if let data = FileManager.default.contents(atPath: path) {
            let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            for (n, line) in lines.enumerated() {
                let isLast = n == lines.count - 1
                if line.isEmpty { if !isLast { keep += 1 }; continue }
                guard !isLast, let v = try? JSONValue.parse(Array(line)) else {
                    if isLast || n == lines.count - 2 && lines[lines.count - 1].isEmpty { break }
                    throw EvalError("line \(n + 1) is not JSON", path: path)
                }
                guard let r = UtteranceResult(json: v, normalize: normalize) else { throw EvalError("line \(n + 1) is not a result", path: path) }
                previous.append(r)
                keep += UInt64(line.count + 1)
            }
        } else if !FileManager.default.createFile(atPath: path, contents: nil) {
            throw EvalError("cannot create the results file", path: path)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw EvalError("cannot open the results file for writing", path: path) }
        handle.truncateFile(atOffset: keep)
        handle.seekToEndOfFile()
        return (ResultsFile(path: path, handle: handle), previous)
    }

    private init(path: String, handle: FileHandle) {
        self.path = path
        self.handle = handle
    }

    deinit { try? handle.close() }

    public func append(_ r: UtteranceResult) throws {
        do { try handle.write(contentsOf: Data((r.json.serialized() + "\n").utf8)) } catch {
            throw EvalError("cannot write: \(error.localizedDescription)", path: path)
        }
    }
}
