import KDQTensor

/// A pickle reader that builds data only. It understands the opcodes torch.save emits
/// (protocol 2, plus the common protocol 3–5 ones), and resolves GLOBAL against an allow
/// list: torch's tensor rebuild functions, torch storage types and collections.OrderedDict.
/// Any other global is an error that names it; nothing is ever imported or executed.
struct RestrictedUnpickler {
    /// The globals a checkpoint may name.
    static let allowedGlobals = Set(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter"]
        + TorchStorageTypes.encodings.keys.map { "torch.\($0)" })

    static let maxStack = 1 << 20
    static let maxMemo = 1 << 20

    private var r: ByteReader
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private let persistentLoad: (PickleValue) throws -> PickleValue
    /// Every container pushed, for `releaseContainers`.
    private var lists: [PickleList] = []
    private var dicts: [PickleDict] = []

    init(_ bytes: UnsafeRawBufferPointer, path: String, persistentLoad: @escaping (PickleValue) throws -> PickleValue) {
        r = ByteReader(bytes, path: path)
        self.persistentLoad = persistentLoad
    }

    /// Runs the pickle to STOP and returns the value it leaves.
    mutating func load() throws -> PickleValue {
        while true {
            let at = r.offset
            let op = try r.u8("pickle opcode")
            do {
                if try step(op) { break }
            } catch var e as FormatError {
                e.offset = e.offset ?? at
                throw e
            }
        }
        guard let result = stack.popLast() else { throw error("STOP with an empty stack") }
        return result
    }

    private func error(_ message: String, _ code: FormatError.Code = .badPickle) -> FormatError {
        FormatError(code, message, path: r.path)
    }

    private mutating func push(_ v: PickleValue) throws {
        guard stack.count < Self.maxStack else { throw error("pickle stack exceeds \(Self.maxStack) entries") }
        switch v {
        case .list(let l): lists.append(l)
        case .dict(let d): dicts.append(d)
        default: break
        }
        stack.append(v)
    }

    /// Empties every list and dict the pickle built. A pickle can put a container inside
    /// itself (through the memo), a cycle reference counting never frees: call this once the
    /// values needed have been taken out.
    func releaseContainers() {
        for l in lists { l.items = [] }
        for d in dicts { d.items = [] }
    }

    private mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast() else { throw error("pickle stack underflow") }
        return v
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast(), m <= stack.count else { throw error("pickle has no MARK to pop to") }
        defer { stack.removeSubrange(m...) }
        return Array(stack[m...])
    }

    private mutating func memoize(_ index: Int) throws {
        guard let top = stack.last else { throw error("memo store with an empty stack") }
        guard memo.count < Self.maxMemo || memo[index] != nil else { throw error("pickle memo exceeds \(Self.maxMemo) entries") }
        memo[index] = top
    }

    private mutating func fetch(_ index: Int) throws {
        guard let v = memo[index] else { throw error("memo index \(index) was never stored") }
        try push(v)
    }

    /// Executes one opcode; true at STOP.
    private mutating func step(_ op: UInt8) throws -> Bool {
        switch op {
        case 0x80: _ = try r.u8("protocol")  // PROTO
        case 0x95: _ = try r.u64("frame size")  // FRAME
        case 0x2E: return true  // STOP
        case 0x28: marks.append(stack.count)  // MARK
        case 0x30: _ = try pop()  // POP
        case 0x31: _ = try popMark()  // POP_MARK
        case 0x32: guard let top = stack.last else { throw error("DUP with an empty stack") }; try push(top)
        case 0x4E: try push(.none)
        case 0x88: try push(.bool(true))
        case 0x89: try push(.bool(false))
        case 0x4B: try push(.int(Int(try r.u8("BININT1"))))
        case 0x4D: try push(.int(Int(try r.u16("BININT2"))))
        case 0x4A: try push(.int(Int(try r.i32("BININT"))))
        case 0x8A: try push(try long(Int(try r.u8("LONG1 length"))))
        case 0x8B: try push(try long(try Checked.int(try r.u32("LONG4 length"), "LONG4 length")))
        case 0x47: try push(.float(Double(bitPattern: try r.u64("BINFLOAT").byteSwapped)))  // big-endian
        case 0x58: try push(.string(try r.string(Int(try r.u32("BINUNICODE length")), "BINUNICODE")))
        case 0x8C: try push(.string(try r.string(Int(try r.u8("SHORT_BINUNICODE length")), "SHORT_BINUNICODE")))
        case 0x8D: try push(.string(try r.string(try Checked.int(try r.u64("BINUNICODE8 length"), "BINUNICODE8 length"), "BINUNICODE8")))
        case 0x55: try push(.string(try r.string(Int(try r.u8("SHORT_BINSTRING length")), "SHORT_BINSTRING")))
        case 0x54: try push(.string(try r.string(Int(try r.u32("BINSTRING length")), "BINSTRING")))
        case 0x43: try push(.bytes(try r.bytes(Int(try r.u8("SHORT_BINBYTES length")), "SHORT_BINBYTES")))
        case 0x42: try push(.bytes(try r.bytes(Int(try r.u32("BINBYTES length")), "BINBYTES")))
        case 0x7D: try push(.dict(PickleDict()))  // EMPTY_DICT
        case 0x5D: try push(.list(PickleList()))  // EMPTY_LIST
        case 0x29: try push(.tuple([]))  // EMPTY_TUPLE
        case 0x74: try push(.tuple(try popMark()))  // TUPLE
        case 0x85: let a = try pop(); try push(.tuple([a]))
        case 0x86: let b = try pop(), a = try pop(); try push(.tuple([a, b]))
        case 0x87: let c = try pop(), b = try pop(), a = try pop(); try push(.tuple([a, b, c]))
        case 0x71: try memoize(Int(try r.u8("BINPUT index")))
        case 0x72: try memoize(Int(try r.u32("LONG_BINPUT index")))
        case 0x94: try memoize(memo.count)  // MEMOIZE
        case 0x68: try fetch(Int(try r.u8("BINGET index")))
        case 0x6A: try fetch(Int(try r.u32("LONG_BINGET index")))
        case 0x73: let v = try pop(), k = try pop(); try dictionary().items.append((k, v))  // SETITEM
        case 0x75:  // SETITEMS
            let items = try popMark()
            guard items.count % 2 == 0 else { throw error("SETITEMS with an odd number of items") }
            let d = try dictionary()
            for i in stride(from: 0, to: items.count, by: 2) { d.items.append((items[i], items[i + 1])) }
        case 0x61: let v = try pop(); try list().items.append(v)  // APPEND
        case 0x65: let items = try popMark(); try list().items.append(contentsOf: items)  // APPENDS
        case 0x63:  // GLOBAL
            let module = try line("GLOBAL module"), name = try line("GLOBAL name")
            try push(try global(module, name))
        case 0x93:  // STACK_GLOBAL
            guard let name = try pop().stringValue, let module = try pop().stringValue else { throw error("STACK_GLOBAL needs two strings") }
            try push(try global(module, name))
        case 0x52:  // REDUCE
            guard let args = try pop().tupleValue else { throw error("REDUCE arguments are not a tuple") }
            try push(try TorchRebuild.call(try pop(), args, path: r.path))
        case 0x81:  // NEWOBJ
            guard let args = try pop().tupleValue else { throw error("NEWOBJ arguments are not a tuple") }
            try push(try TorchRebuild.call(try pop(), args, path: r.path))
        case 0x62:  // BUILD: state of an OrderedDict (its _metadata) or a tensor is not needed
            _ = try pop()
            guard let top = stack.last else { throw error("BUILD with an empty stack") }
            switch top {
            case .dict, .tensor: break
            default: throw error("BUILD on a \(top.kind) is not supported")
            }
        case 0x51: try push(try persistentLoad(try pop()))  // BINPERSID
        default:
            throw error("unsupported pickle opcode 0x\(String(op, radix: 16)) ('\(Character(Unicode.Scalar(op)))')", .unsupported)
        }
        return false
    }

    private func dictionary() throws -> PickleDict {
        guard case .dict(let d)? = stack.last else { throw error("SETITEM(S) target is a \(stack.last?.kind ?? "nothing"), not a dict") }
        return d
    }

    private func list() throws -> PickleList {
        guard case .list(let l)? = stack.last else { throw error("APPEND(S) target is a \(stack.last?.kind ?? "nothing"), not a list") }
        return l
    }

    private mutating func line(_ what: String) throws -> String {
        var bytes: [UInt8] = []
        while true {
            let b = try r.u8(what)
            if b == 0x0A { break }
            bytes.append(b)
            guard bytes.count <= 256 else { throw error("\(what) is longer than 256 bytes") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func global(_ module: String, _ name: String) throws -> PickleValue {
        guard Self.allowedGlobals.contains("\(module).\(name)") else {
            throw error("pickle imports \(module).\(name), which is not allowed: a checkpoint may only name torch tensor rebuild functions, torch storage types and collections.OrderedDict",
                        .forbiddenGlobal)
        }
        return .global(module: module, name: name)
    }

    /// A little-endian two's-complement integer of `n` bytes (LONG1 / LONG4).
    private mutating func long(_ n: Int) throws -> PickleValue {
        let bytes = try r.bytes(n, "LONG value")
        guard n <= 8 else { throw error("integer of \(n) bytes does not fit in 64 bits", .overflow) }
        var v: UInt64 = 0
        for (i, b) in bytes.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        if n > 0, n < 8, bytes[n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) }
        return .int(Int(Int64(bitPattern: v)))
    }
}
