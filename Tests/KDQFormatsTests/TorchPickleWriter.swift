import Foundation
@testable import KDQFormats
import KDQTensor

/// Writes a state dict the way torch.save does (zip of `archive/data.pkl` + `archive/data/N`,
/// protocol-2 pickle of `_rebuild_tensor_v2` calls), to make Hugging Face `pytorch_model.bin`
/// test inputs from the reference tensors.
enum TorchPickleWriter {
    struct Entry {
        let name: String
        let values: [Float]
        let shape: [Int]
        /// Element strides; nil for row-major contiguous.
        var stride: [Int]? = nil
    }

    static func write(_ path: String, _ entries: [Entry]) throws {
        var p: [UInt8] = [0x80, 0x02, 0x7D, 0x28]  // PROTO 2, EMPTY_DICT, MARK
        func string(_ s: String) { p.append(0x58); p.appendLE(UInt32(s.utf8.count)); p += Array(s.utf8) }
        func int(_ v: Int) { p.append(0x4A); p.appendLE(Int32(v)) }
        func tuple(_ values: [Int]) { p.append(0x28); values.forEach(int); p.append(0x74) }
        var members: [(String, [UInt8])] = []
        for (key, e) in entries.enumerated() {
            string(e.name)
            p += Array("ctorch._utils\n_rebuild_tensor_v2\n".utf8) + [0x28]
            p += [0x28]; string("storage"); p += Array("ctorch\nFloatStorage\n".utf8); string("\(key)"); string("cpu"); int(e.values.count)
            p += [0x74, 0x51]  // TUPLE, BINPERSID
            int(0)
            tuple(e.shape)
            tuple(e.stride ?? rowMajorStrides(e.shape))
            p += [0x89] + Array("ccollections\nOrderedDict\n".utf8) + [0x29, 0x52]
            p += [0x74, 0x52]  // TUPLE, REDUCE
            members.append(("archive/data/\(key)", e.values.withUnsafeBytes { Array($0) }))
        }
        p += [0x75, 0x2E]  // SETITEMS, STOP
        try ZipWriter.write(path, members: [("archive/data.pkl", p), ("archive/byteorder", Array("little".utf8))] + members)
    }

    static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for i in stride(from: shape.count - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * shape[i + 1] }
        return strides
    }
}
