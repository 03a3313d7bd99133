import Foundation
import KDQFormats

/// A private scratch directory per fuzzing process, where each input is written as a file of
/// the name the parser under test expects: in memory (/dev/shm) where the system has it, since
/// every execution writes one.
enum FuzzScratch {
    static let directory: String = {
        let root = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()
        let d = root + "kdq-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    /// Writes `data` to `name` in the scratch directory (in place, one write: no temporary file
    /// and rename per execution) and returns its path.
    static func write(_ data: UnsafeRawBufferPointer, as name: String) -> String {
        let path = directory + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return path }
        var offset = 0
        while offset < data.count, let base = data.baseAddress {
            let n = Foundation.write(fd, base + offset, data.count - offset)
            if n <= 0 { break }
            offset += n
        }
        close(fd)
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
        try? FileManager.default.copyItem(atPath: fixturePath(fixture), toPath: path)
    }

    /// Writes a fixture (read once, then kept in memory) over `name`: for a target that puts
    /// back, after each input, the file the input replaced.
    static func restoreFixture(_ fixture: String, as name: String) {
        if fixtureBytes[fixture] == nil { fixtureBytes[fixture] = FileManager.default.contents(atPath: fixturePath(fixture)) ?? Data() }
        fixtureBytes[fixture]?.withUnsafeBytes { _ = write($0, as: name) }
    }

    nonisolated(unsafe) private static var fixtureBytes: [String: Data] = [:]

    private static func fixturePath(_ fixture: String) -> String {
        (ProcessInfo.processInfo.environment["KDQ_FUZZ_FIXTURES"] ?? "Tests/KDQFormatsTests/Fixtures") + "/" + fixture
    }
}

/// Opens a checkpoint and touches everything a command would: every tensor decoded (unless the
/// input under test is not the tensors' file), the vocabulary completed. Errors are the expected
/// outcome for most inputs; crashes, leaks, hangs and huge allocations are what the fuzzer
/// looks for.
func exercise(_ path: String, decodeTensors: Bool = true) {
    guard let checkpoint = try? Checkpoint.open(path) else { return }
    if decodeTensors {
        for (_, tensor) in checkpoint.tensors { _ = try? tensor.decodedFloats() }
    }
    _ = checkpoint.tokenizer.completeByteLevelVocabulary(nVocab: checkpoint.dims.nVocab)
}
