import KDQJSON
import KDQTensor

extension ErrorMetrics {
    /// RMSE, max abs error, relative error, cosine and SNR (null when infinite).
    public var json: JSONObject {
        ["rmse": .number(rmse), "max_abs_error": .number(Double(maxAbsError)), "relative_error": .number(relativeError),
         "cosine": .number(cosine), "snr_db": snrDecibels.isFinite ? .number(snrDecibels) : .null, "exact": .bool(isExact)]
    }
}

extension CheckpointDiff {
    /// The whole diff as JSON: overall, per layer, per tensor, and one-sided names.
    public var json: JSONValue {
        var root = JSONObject()
        root["identical"] = .bool(isIdentical)
        var overallJSON = overall.json
        overallJSON["tensors"] = .number(tensors.count)
        root["overall"] = .object(overallJSON)
        root["layers"] = .array(layers.map { l in
            var o = l.metrics.json
            o["layer"] = .string(l.layer)
            o["tensors"] = .number(l.tensors)
            o["worst_relative_error"] = .number(l.worstRelativeError)
            return .object(o)
        })
        root["tensors"] = .array(tensors.map { t in
            var o: JSONObject = ["name": .string(t.name), "shape_a": .ints(t.shapeA), "shape_b": .ints(t.shapeB),
                                 "encoding_a": .string(t.encodingA.rawValue), "encoding_b": .string(t.encodingB.rawValue),
                                 "shape_match": .bool(t.shapesMatch)]
            if let m = t.metrics { for (k, v) in m.json.entries { o[k] = v } }
            return .object(o)
        })
        root["only_in_a"] = .array(onlyInA.map { .string($0) })
        root["only_in_b"] = .array(onlyInB.map { .string($0) })
        return .object(root)
    }
}
