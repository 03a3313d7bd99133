import Foundation
import KDQTensor
import KDQTrain

/// Taught clips on disk, one file each in a work directory, so labelling and encoding are paid
/// once across epochs and runs: magic "KDQC", version, prompt length, token count, encoder value
/// count (little-endian UInt32s), the tokens (Int32), the encoder output (f16). Every count is
/// checked against the bytes present before anything is read from it.
public struct ClipCache: Sendable {
    public let directory: String
    static let magic: UInt32 = 0x4351_444B  // "KDQC"

    public init(directory: String) throws {
        self.directory = directory
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw TrainingError("cannot create the work directory \(directory): \(error.localizedDescription)")
        }
    }

    func path(_ id: String) -> String {
        directory + "/" + id.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? String($0) : "_" }.joined() + ".clip"
    }

    /// Whether clip `id` is cached (its contents are checked when it is loaded).
    public func contains(_ id: String) -> Bool { FileManager.default.fileExists(atPath: path(id)) }

    /// The cached clip `id`, or nil when there is none. A damaged file is an error naming it.
    /// Without `encoderOutput` the clip's tokens are read and its encoder output left empty
    /// (checked, not decoded: for a caller that encodes the audio itself).
    public func load(_ id: String, encoderValues: Int, encoderOutput: Bool = true) throws -> TaughtClip? {
        let p = path(id)
        guard let data = FileManager.default.contents(atPath: p) else { return nil }
        return try data.withUnsafeBytes { raw -> TaughtClip in
            func word(_ i: Int) -> Int { Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            guard raw.count >= 20, word(0) == Int(Self.magic), word(1) == 1 else {
                throw TrainingError("\(p): not a kdq clip cache file (\(raw.count) bytes)")
            }
            let prompt = word(2), tokens = word(3), values = word(4)
            guard values == encoderValues else {
                throw TrainingError("\(p): encoder output of \(values) values, expected \(encoderValues) (another model's cache?)")
            }
            guard prompt <= tokens, raw.count == 20 + 4 * tokens + 2 * values else {
                throw TrainingError("\(p): \(raw.count) bytes, expected \(20 + 4 * tokens + 2 * values) for \(tokens) tokens and \(values) values")
            }
            let t = (0..<tokens).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 20 + 4 * $0, as: Int32.self))) }
            let base = 20 + 4 * tokens
            let e = !encoderOutput ? [] : (0..<values).map { HalfPrecision.f16ToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: base + 2 * $0, as: UInt16.self))) }
            return TaughtClip(id: id, encoderOutput: e, tokens: t, promptLength: prompt)
        }
    }

    /// Writes `clip` (its encoder output rounded to f16), atomically.
    public func store(_ clip: TaughtClip) throws {
        var data = Data(capacity: 20 + 4 * clip.tokens.count + 2 * clip.encoderOutput.count)
        func append<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        for v in [Self.magic, 1, UInt32(clip.promptLength), UInt32(clip.tokens.count), UInt32(clip.encoderOutput.count)] { append(v) }
        for t in clip.tokens { append(Int32(t)) }
        for x in clip.encoderOutput { append(HalfPrecision.floatToF16(x)) }
        try writeWhole(data, to: path(clip.id))
    }
}

/// Writes `data` under a temporary name and renames it to `path`, so a reader (or a run stopped
/// at any moment) sees the old file or the new one, never part of one. Work-directory files
/// only: unlike `AtomicOutput` it installs no signal handler, which would replace `kdq distill`'s
/// own Ctrl-C handling.
func writeWhole(_ data: Data, to path: String) throws {
    let tmp = path + ".tmp-\(getpid())"  // runs sharing a clip cache each write their own
    guard FileManager.default.createFile(atPath: tmp, contents: data) else {
        unlink(tmp)
        throw TrainingError("cannot write \(path): \(String(cString: strerror(errno)))")
    }
    guard rename(tmp, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(tmp)
        throw TrainingError("cannot rename \(tmp) to \(path): \(reason)")
    }
}
