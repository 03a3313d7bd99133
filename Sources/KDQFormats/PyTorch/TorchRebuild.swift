import KDQTensor

/// torch storage class names → encodings.
enum TorchStorageTypes {
    static let encodings: [String: Encoding] = [
        "HalfStorage": .f16, "FloatStorage": .f32, "BFloat16Storage": .bf16, "DoubleStorage": .f64, "LongStorage": .i64,
        "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8, "ByteStorage": .u8, "BoolStorage": .bool,
    ]
}

/// The calls a torch checkpoint's pickle makes (REDUCE / NEWOBJ on an allow-listed global),
/// done by building data rather than running anything.
enum TorchRebuild {
    static func call(_ callable: PickleValue, _ args: [PickleValue], path: String) throws -> PickleValue {
        guard case .global(let module, let name) = callable else {
            throw FormatError(.badPickle, "REDUCE on a \(callable.kind), not a function", path: path)
        }
        switch "\(module).\(name)" {
        case "collections.OrderedDict":
            let d = PickleDict()
            if case .list(let l)? = args.first {
                for item in l.items {
                    guard let pair = item.tupleValue, pair.count == 2 else { throw FormatError(.badPickle, "OrderedDict item is not a pair", path: path) }
                    d.items.append((pair[0], pair[1]))
                }
            }
            return .dict(d)
        case "torch._utils._rebuild_tensor_v2":
            guard args.count >= 4, case .storage(let storage) = args[0], let offset = args[1].intValue,
                  let size = args[2].tupleValue, let stride = args[3].tupleValue else {
                throw FormatError(.badPickle, "_rebuild_tensor_v2 expects (storage, offset, size, stride, ...), found (\(args.map(\.kind).joined(separator: ", ")))", path: path)
            }
            let shape = try size.map { v -> Int in
                guard let d = v.intValue, d >= 0 else { throw FormatError(.badPickle, "tensor size entry is a \(v.kind), not a non-negative int", path: path) }
                return d
            }
            let strides = try stride.map { v -> Int in
                guard let s = v.intValue, s >= 0 else { throw FormatError(.badPickle, "tensor stride entry is a \(v.kind), not a non-negative int", path: path) }
                return s
            }
            guard shape.count == strides.count, offset >= 0 else {
                throw FormatError(.badPickle, "tensor has \(shape.count) sizes but \(strides.count) strides, offset \(offset)", path: path)
            }
            return .tensor(TorchTensorRef(storage: storage, offset: offset, shape: shape, stride: strides))
        case "torch._utils._rebuild_parameter":
            guard case .tensor? = args.first else { throw FormatError(.badPickle, "_rebuild_parameter expects a tensor", path: path) }
            return args[0]
        default:
            throw FormatError(.badPickle, "\(module).\(name) cannot be called", path: path)
        }
    }
}
