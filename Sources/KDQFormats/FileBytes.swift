import KDQTensor
import KDQJSON
#if canImport(Glibc)
import Glibc
#endif

/// Small side files (config.json, vocabularies) read whole.
enum FileBytes {
    /// The file's bytes, or nil if no file exists at `path`.
    static func readIfPresent(_ path: String) throws -> [UInt8]? {
        guard isRegularFile(path) else { return nil }
        do {
            let file = try MappedFile(path: path)
            return withExtendedLifetime(file) { Array(file.bytes) }
        } catch { throw FormatError.wrapping(error, path: path) }
    }

    /// Maps a checkpoint file, turning a failure into a `FormatError` naming it.
    static func map(_ path: String) throws -> MappedFile {
        do { return try MappedFile(path: path) } catch { throw FormatError.wrapping(error, path: path) }
    }

    /// The folder holding `path` ("." for a bare name).
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// True when `path` names a regular file.
    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// True when `path` names a directory.
    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}

/// Parses JSON, turning a syntax error into a `FormatError` that names the file.
func parseJSON(_ bytes: [UInt8], path: String) throws -> JSONValue {
    do { return try JSONValue.parse(bytes) } catch let e as JSONError {
        throw FormatError(.badHeader, e.description, path: path, offset: e.offset)
    }
}
