import Dispatch
import KDQFormats
import KDQJSON
import KDQTensor

/// What `kdq inspect` reports about a checkpoint: headers always, statistics on request.
public struct CheckpointSummary {
    public let checkpoint: Checkpoint
    /// The tensors shown (after filtering), in canonical order.
    public let tensors: [(name: String, tensor: Tensor)]
    /// Statistics by tensor name, when computed.
    public let statistics: [String: TensorStatistics]

    /// Summarizes `checkpoint`, keeping tensors that `include` accepts; with `withStatistics`
    /// every kept tensor is decoded and measured (`progress` gets bytes done and total).
    public init(_ checkpoint: Checkpoint, include: (String) -> Bool = { _ in true }, withStatistics: Bool = false,
                progress: ((Int, Int) -> Void)? = nil) throws {
        self.checkpoint = checkpoint
        tensors = checkpoint.tensors.filter { include($0.name) }
        guard withStatistics else { statistics = [:]; return }
        let measured = try TensorStatistics.measure(tensors.map(\.tensor), progress: progress)
        let stats = Dictionary(uniqueKeysWithValues: zip(tensors.map(\.name), measured))
        statistics = stats
    }

    /// The report as JSON: source, dims, totals, tokenizer, and one entry per tensor.
    public var json: JSONValue {
        let c = checkpoint
        var root = JSONObject()
        root["path"] = .string(c.provenance.path)
        root["format"] = .string(c.provenance.format.rawValue)
        root["file_bytes"] = .number(c.provenance.size)
        if let size = c.dims.modelSizeName { root["model"] = .string(size) }
        root["dims"] = .object(JSONObject(c.dims.namedValues.map { ($0.0, JSONValue.number($0.1)) }))
        root["parameters"] = .number(c.parameterCount)
        root["tensor_count"] = .number(c.tensors.count)
        root["tensor_bytes"] = .number(c.tensorBytes)
        root["bytes_by_encoding"] = .array(c.bytesByEncoding.map {
            .object(["encoding": .string($0.encoding.rawValue), "tensors": .number($0.tensors), "bytes": .number($0.bytes)])
        })
        var tokenizer = JSONObject()
        if let v = c.tokenizer.vocabulary {
            tokenizer["vocabulary_size"] = .number(v.count)
            tokenizer["spelling"] = .string(c.tokenizer.spelling.rawValue)
        }
        tokenizer["tokenizer_json"] = .bool(c.tokenizer.tokenizerJSON != nil)
        tokenizer["special_tokens"] = .object(JSONObject(c.tokenizer.specialTokens.sorted { $0.value < $1.value }.map { ($0.key, .number($0.value)) }))
        root["tokenizer"] = .object(tokenizer)
        if let m = c.melFilters { root["mel_filters"] = .ints([m.nMels, m.nFrequencies]) } else { root["mel_filters"] = .null }
        root["tensors"] = .array(tensors.map { name, t in
            var o: JSONObject = ["name": .string(name), "shape": .ints(t.shape), "encoding": .string(t.encoding.rawValue),
                                 "bytes": .number(t.byteCount)]
            if let s = statistics[name] { o["stats"] = s.json }
            return .object(o)
        })
        return .object(root)
    }
}

extension TensorStatistics {
    /// min, max, mean, std and the zero / NaN / Inf counts.
    public var json: JSONValue {
        .object(["min": finiteCount > 0 ? .number(Double(min)) : .null, "max": finiteCount > 0 ? .number(Double(max)) : .null,
                 "mean": .number(mean), "std": .number(standardDeviation), "zeros": .number(zeros), "nan": .number(nans),
                 "inf": .number(infinities)])
    }
}
