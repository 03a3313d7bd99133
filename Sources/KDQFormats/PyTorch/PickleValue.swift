import KDQTensor

/// A value built by the restricted unpickler. Only data (no objects of arbitrary classes):
/// scalars, strings, containers, and the torch storages and tensors a checkpoint holds.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// An allow-listed global (a torch rebuild function, a storage type, OrderedDict).
    case global(module: String, name: String)
    case storage(TorchStorageRef)
    case tensor(TorchTensorRef)

    var intValue: Int? { if case .int(let i) = self { return i }; return nil }
    var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    var tupleValue: [PickleValue]? { if case .tuple(let t) = self { return t }; return nil }

    /// A short description for error messages.
    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let m, let n): return "\(m).\(n)"
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

/// A list with reference semantics, so that APPENDS reaches the object the memo also holds.
final class PickleList {
    var items: [PickleValue] = []
}

/// A dict with reference semantics, keeping insertion order.
final class PickleDict {
    var items: [(key: PickleValue, value: PickleValue)] = []

    /// The value under string key `key`.
    subscript(key: String) -> PickleValue? {
        items.first { $0.key.stringValue == key }?.value
    }
}

/// A torch storage named by a persistent id: the zip member `data/<key>` in one encoding.
struct TorchStorageRef {
    let key: String
    let encoding: Encoding
    let elementCount: Int
}

/// A tensor view of a storage, as `_rebuild_tensor_v2` describes it (offset and strides in elements).
struct TorchTensorRef {
    let storage: TorchStorageRef
    let offset: Int
    let shape: [Int]
    let stride: [Int]
}
