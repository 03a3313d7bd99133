import KDQTensor
#if canImport(Glibc)
import Glibc
#endif

/// An output written under a temporary name beside its destination and renamed into place
/// only when complete. Until then, an error, Ctrl-C (SIGINT) or SIGTERM removes the
/// temporary file, so a destination is never left half-written.
public final class AtomicOutput {
    /// Where the finished output goes.
    public let destination: String
    /// The temporary path being written (a file, or a directory for directory outputs).
    public let temporaryPath: String
    private var committed = false

    /// True for outputs that are directories (an existing one of regular files is replaced).
    public let isDirectory: Bool

    /// Reserves a temporary path beside `destination`. A file output refuses a destination
    /// that is a directory; a directory output refuses one holding anything but files.
    public init(_ destination: String, directory: Bool = false) throws {
        if FileBytes.isDirectory(destination) && !(directory && holdsOnlyFiles(destination)) {
            throw FormatError(.io, directory ? "refusing to replace a directory that holds subdirectories" : "is a directory, expected a file path",
                              path: destination)
        }
        self.destination = destination
        self.isDirectory = directory
        let dir = destination.lastIndex(of: "/").map { String(destination[...$0]) } ?? ""
        let name = destination.split(separator: "/").last.map(String.init) ?? destination
        let prefix = ".\(name).kdq-tmp-"
        Self.removeAbandoned(in: dir.isEmpty ? "." : dir, prefix: prefix)
        temporaryPath = "\(dir)\(prefix)\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        CleanupRegistry.shared.register(temporaryPath)
    }

    /// Writes an output whole: `body` writes it under `temporaryPath` (for a directory output,
    /// `body` makes the directory), then it is renamed into place. A `FormatError` from `body`
    /// names the destination (and the member of a directory output), not the temporary path;
    /// on any error nothing is left behind and a previous destination is untouched.
    public static func produce(_ destination: String, directory: Bool = false, _ body: (AtomicOutput) throws -> Void) throws {
        let output = try AtomicOutput(destination, directory: directory)
        do {
            try body(output)
        } catch var e as FormatError {
            if let p = e.path, p.hasPrefix(output.temporaryPath) { e.path = destination + p.dropFirst(output.temporaryPath.count) }
            throw e
        }
        try output.commit()
    }

    /// Removes the temporary outputs of `kdq` processes that no longer run (killed before they
    /// could clean up: SIGKILL, a power cut): entries of `directory` named `prefix` + PID + "-…".
    static func removeAbandoned(in directory: String, prefix: String) {
        guard let dir = opendir(directory) else { return }
        var abandoned: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            guard name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }), pid > 0 else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { abandoned.append(name) }
        }
        closedir(dir)
        for name in abandoned { removeTree(directory + "/" + name) }
    }

    /// Another temporary path beside the output (for an intermediate file), removed like the
    /// output's own temporary path on error or interrupt, and when this value goes away.
    public func scratchPath(_ suffix: String) -> String {
        let path = temporaryPath + suffix
        CleanupRegistry.shared.register(path)
        scratch.append(path)
        return path
    }

    private var scratch: [String] = []

    /// Writes `text` to `destination` whole: under a temporary name, then renamed into place.
    public static func write(_ text: String, to destination: String) throws {
        try produce(destination) { output in
            let sink = try FileSink(creating: output.temporaryPath)
            try sink.write(text)
            try sink.close()
        }
    }

    /// Moves the finished temporary output into place, replacing a previous one so that the
    /// destination always holds either of them whole. A previous directory is swapped with the
    /// new one in one step (`renameat2` with `RENAME_EXCHANGE`) and then removed from under the
    /// temporary name (by the next run if this one is killed first); only on a filesystem that
    /// cannot swap is it removed before the new one moves in.
    public func commit() throws {
        if isDirectory && FileBytes.isDirectory(destination) {
            if exchangePaths(temporaryPath, destination) {
                committed = true
                removeTree(temporaryPath)
                CleanupRegistry.shared.unregister(temporaryPath)
                return
            }
            removeTree(destination)
        }
        guard rename(temporaryPath, destination) == 0 else {
            throw FormatError(.io, "cannot move \(temporaryPath) into place: \(String(cString: strerror(errno)))", path: destination)
        }
        committed = true
        CleanupRegistry.shared.unregister(temporaryPath)
    }

    deinit {
        for path in scratch {
            unlink(path)
            CleanupRegistry.shared.unregister(path)
        }
        if !committed {
            removeTree(temporaryPath)
            CleanupRegistry.shared.unregister(temporaryPath)
        }
    }
}

/// Swaps two paths in one atomic step (Linux `renameat2` with `RENAME_EXCHANGE`, looked up at
/// run time: Glibc's Swift module does not declare it); false when the C library or the
/// filesystem cannot.
func exchangePaths(_ a: String, _ b: String) -> Bool {
    typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    guard let symbol = dlsym(nil, "renameat2") else { return false }
    let renameExchange: UInt32 = 1 << 1  // RENAME_EXCHANGE in <linux/fs.h>
    return unsafeBitCast(symbol, to: RenameAt2.self)(AT_FDCWD, a, AT_FDCWD, b, renameExchange) == 0
}

/// True when `path` is a directory whose entries are all regular files.
func holdsOnlyFiles(_ path: String) -> Bool {
    guard let dir = opendir(path) else { return false }
    defer { closedir(dir) }
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
        if name != "." && name != ".." && !FileBytes.isRegularFile(path + "/" + name) { return false }
    }
    return true
}

/// Removes a file or a directory tree (one level of files, as directory outputs have).
func removeTree(_ path: String) {
    if FileBytes.isDirectory(path), let dir = opendir(path) {
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            if name != "." && name != ".." { unlink(path + "/" + name) }
        }
        closedir(dir)
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// The temporary outputs in flight, removed by the SIGINT/SIGTERM handler before exiting.
/// Paths are kept as C strings so that the handler only calls async-signal-safe functions.
final class CleanupRegistry: @unchecked Sendable {
    static let shared = CleanupRegistry()
    private let lock = NSLockLite()
    private var paths: [String: UnsafeMutablePointer<CChar>] = [:]

    private init() {}

    func register(_ path: String) {
        lock.withLock {
            paths[path] = strdup(path)
            publish()
        }
        installHandlerOnce()
    }

    func unregister(_ path: String) {
        lock.withLock {
            if let p = paths.removeValue(forKey: path) {
                publish()
                free(p)
            }
        }
    }

    /// Copies the current list into the fixed table the signal handler reads.
    private func publish() {
        let list = Array(paths.values.prefix(cleanupSlots))
        for i in 0..<cleanupSlots { cleanupTable[i] = i < list.count ? list[i] : nil }
    }

    private var installed = false
    private func installHandlerOnce() {
        lock.withLock {
            guard !installed else { return }
            installed = true
            unblockStopSignals()
            for sig in [SIGINT, SIGTERM] {
                signal(sig) { sig in
                    for i in 0..<cleanupSlots {
                        if let p = cleanupTable[i] {
                            // A directory output: remove its files first (best effort), then it.
                            if let dir = opendir(p) {
                                closedir(dir)
                                removeTree(String(cString: p))
                            } else {
                                unlink(p)
                            }
                        }
                    }
                    signal(sig, SIG_DFL)
                    raise(sig)
                }
            }
        }
    }
}

/// Unblocks SIGINT and SIGTERM for this thread: a parent may have started us with them blocked
/// (Foundation's Process does), and a process that handles them must receive them.
public func unblockStopSignals() {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
}

let cleanupSlots = 16
nonisolated(unsafe) let cleanupTable: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
    let table = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: cleanupSlots)
    table.initialize(repeating: nil, count: cleanupSlots)
    return table
}()
