import Foundation
import KDQFormats
import KDQTensor

/// Paths and helpers shared by the format tests.
enum Fixtures {
    /// `Tests/KDQFormatsTests/Fixtures`.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    /// The package root.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func path(_ name: String) -> String { directory + "/" + name }

    /// The real models fetched by scripts/fetch-models.sh (or $KDQ_MODELS_DIR), if present.
    static func realModel(_ name: String) -> String? {
        let root = ProcessInfo.processInfo.environment["KDQ_MODELS_DIR"] ?? packageRoot + "/models"
        let dir = root + "/" + name
        return FileManager.default.fileExists(atPath: dir + "/model.bin") ? dir : nil
    }

    static let reference: Checkpoint = try! Checkpoint.open(path("reference-f32.safetensors"))

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }
}

/// A scratch directory removed when the value goes away.
final class ScratchDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "kdq-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `bytes` to `name` inside the directory and returns its path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = path + "/" + name
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: p, contents: Data(bytes)) else { throw CocoaError(.fileWriteUnknown) }
        return p
    }
}

/// Opening `path` must fail with a `FormatError` (never a crash); returns it.
func expectFormatError(_ path: String) -> FormatError? {
    do {
        _ = try Checkpoint.open(path)
        return nil
    } catch let e as FormatError {
        return e
    } catch {
        return FormatError(.io, "unexpected error type \(type(of: error)): \(error)")
    }
}

extension Array where Element == UInt8 {
    mutating func appendLE<T: FixedWidthInteger>(_ v: T) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
}
