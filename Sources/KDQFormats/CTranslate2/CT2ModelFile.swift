import KDQTensor

/// The variables of a CTranslate2 `model.bin` (binary versions 4 to 6), parsed but not yet
/// mapped to Whisper names. Data stays in the mapped file.
struct CT2ModelFile {
    struct Variable {
        let name: String
        let shape: [Int]
        let dtype: UInt8
        let data: Storage
        let offset: Int
    }

    let version: Int
    let specName: String
    let variables: [String: Variable]
    let aliases: [String: String]

    static let newestVersion: UInt32 = 6

    /// Element sizes of CTranslate2's dtype ids: 0 f32, 1 i8, 2 i16, 3 i32, 4 f16, 5 bf16.
    static func encoding(dtype: UInt8) -> Encoding? {
        switch dtype {
        case 0: return .f32
        case 1: return .i8
        case 2: return .i16
        case 3: return .i32
        case 4: return .f16
        case 5: return .bf16
        default: return nil
        }
    }

    init(file: MappedFile, path: String) throws {
        var r = ByteReader(file.bytes, path: path)
        let version = try r.u32("binary version")
        guard (4...CT2ModelFile.newestVersion).contains(version) else {
            throw FormatError(.unsupported, "CTranslate2 binary version \(version) is not supported (4 to \(CT2ModelFile.newestVersion) are)",
                              path: path, offset: 0)
        }
        self.version = Int(version)
        specName = try Self.string(&r, "spec name")
        _ = try r.u32("spec revision")
        let count = try r.u32("variable count")
        var variables: [String: Variable] = [:]
        for i in 0..<count {
            let start = r.offset
            let name = try Self.string(&r, "name of variable \(i)")
            let rank = Int(try r.u8("rank of '\(name)'"))
            var shape: [Int] = []
            for k in 0..<rank { shape.append(Int(try r.u32("dimension \(k) of '\(name)'"))) }
            let dtype = try r.u8("dtype of '\(name)'")
            let byteCount = Int(try r.u32("byte size of '\(name)'"))
            guard let encoding = Self.encoding(dtype: dtype) else {
                throw FormatError(.unsupported, "unknown CTranslate2 dtype id \(dtype)", path: path, offset: start, tensor: name)
            }
            let expected: Int
            do { expected = try encoding.byteCount(elements: try Checked.elementCount(shape)) } catch {
                throw FormatError.wrapping(error, path: path, tensor: name, offset: start)
            }
            guard expected == byteCount else {
                throw FormatError(.shapeMismatch, "\(encoding.rawValue) \(shape) needs \(expected) bytes, header says \(byteCount)",
                                  path: path, offset: start, tensor: name)
            }
            let range = try r.range(byteCount, "data of '\(name)'")
            variables[name] = Variable(name: name, shape: shape, dtype: dtype, data: try Storage(file: file, range: range), offset: start)
        }
        var aliases: [String: String] = [:]
        let aliasCount = try r.u32("alias count")
        for i in 0..<aliasCount {
            let alias = try Self.string(&r, "alias \(i)")
            aliases[alias] = try Self.string(&r, "target of alias '\(alias)'")
        }
        guard r.isAtEnd else {
            throw FormatError(.badHeader, "\(r.remaining) unexpected bytes after the last alias", path: path, offset: r.offset)
        }
        self.variables = variables
        self.aliases = aliases
    }

    /// A u16 length that counts a trailing NUL, the bytes, then the NUL.
    private static func string(_ r: inout ByteReader, _ what: String) throws -> String {
        let start = r.offset
        let length = Int(try r.u16("length of \(what)"))
        guard length >= 1 else { throw FormatError(.badHeader, "\(what) has length 0 (a NUL is always counted)", path: r.path, offset: start) }
        let bytes = try r.bytes(length, what)
        guard bytes.last == 0 else { throw FormatError(.badHeader, "\(what) is not NUL-terminated", path: r.path, offset: start) }
        return String(decoding: bytes.dropLast(), as: UTF8.self)
    }
}
