import Foundation
import KDQFormats

/// A private scratch directory per fuzzing process, where each input is written as a file of
/// the name the parser under test expects.
enum FuzzScratch {
    static let directory: String = {
        let d = NSTemporaryDirectory() + "kdq-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    /// Writes `data` to `name` in the scratch directory and returns its path.
    static func write(_ data: UnsafeRawBufferPointer, as name: String) -> String {
        let path = directory + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(data))
        return path
    }

    /// Removes `name` from the scratch directory.
    static func remove(_ name: String) {
        try? FileManager.default.removeItem(atPath: directory + "/" + name)
    }

    /// Copies a fixture into the scratch directory once (for formats that read several files).
    static func copyFixture(_ fixture: String, as name: String) {
        let path = directory + "/" + name
        guard !FileManager.default.fileExists(atPath: path) else { return }
        let root = ProcessInfo.processInfo.environment["KDQ_FUZZ_FIXTURES"] ?? "Tests/KDQFormatsTests/Fixtures"
        try? FileManager.default.copyItem(atPath: root + "/" + fixture, toPath: path)
    }
}

/// Opens a checkpoint and touches everything a command would: every tensor decoded, the
/// vocabulary completed. Errors are the expected outcome for most inputs; crashes, leaks,
/// hangs and huge allocations are what the fuzzer looks for.
func exercise(_ path: String) {
    guard let checkpoint = try? Checkpoint.open(path) else { return }
    for (_, tensor) in checkpoint.tensors { _ = try? tensor.decodedFloats() }
    _ = checkpoint.tokenizer.completeByteLevelVocabulary(nVocab: checkpoint.dims.nVocab)
}
