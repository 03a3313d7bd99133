import Dispatch
import Foundation
import KDQEngine
import KDQFormats
import KDQJSON
import KDQTensor

/// Activation-aware input scaling (AWQ: Lin et al., 2023, "AWQ: Activation-aware Weight
/// Quantization for LLM Compression and Acceleration"), folded into the model so that it
/// costs no bytes and leaves every output as it was.
///
/// A linear layer's input columns differ in size by orders of magnitude, and a column the
/// audio drives hard is worth more precision than a block's shared grid gives it. Multiplying
/// the layer's weight columns by sᵢ and dividing its input by sᵢ computes the same output,
/// but rounds the scaled-up columns on a relatively finer grid. Where the input is a layer
/// norm's output the division goes into the norm's weight and bias; where it is attention's
/// output it goes into the value projection's rows and bias (attention mixes positions, not
/// channels). For each group of layers that read one input, sᵢ = rmsᵢ^α (rmsᵢ the input
/// column's root mean square on the calibration audio, normalized by the geometric mean of
/// the largest and smallest), and α is chosen on a grid by the group's output error
/// Σⱼ E[xⱼ²]·‖ΔW[:, j]‖² in the encoding the scales are fitted for; α = 0 (no scaling) is on
/// the grid, so no group's error grows. The residual streams and the encoder's output are
/// unchanged: only the inputs of the layers scaled are divided.
public enum InputScaling {
    /// Where a group's inverse scale goes.
    public enum Fold: String, Sendable {
        /// `source.weight` and `source.bias` of a layer norm.
        case layerNorm = "layer_norm"
        /// The rows and bias of `source.value` of an attention, whose output the layers read.
        case value
    }

    /// Layers reading one input, and where that input's inverse scale is folded.
    public struct Group: Sendable, Equatable {
        public let fold: Fold
        /// The layer norm (`encoder.blocks.0.attn_ln`) or attention (`decoder.blocks.1.cross_attn`).
        public let source: String
        /// The weight matrices whose input columns are scaled.
        public let layers: [String]
    }

    /// The exponents tried for each group.
    public static let exponents: [Double] = (0...10).map { Double($0) / 10 }

    /// An input column's mean square is floored at this fraction of the columns' mean before
    /// its scale is taken, so that a column the audio never drives gets no extreme scale.
    static let floor = 1e-4

    /// Every group of a Whisper model with `dims`: per block, the self-attention's query, key
    /// and value behind `attn_ln`, the first MLP layer behind `mlp_ln`, the output projection
    /// behind the values; per decoder block also the cross-attention's query behind
    /// `cross_attn_ln` and its output projection behind its values. The cross-attention's keys
    /// and values read the encoder's output, which stays as it was (students, comparisons and
    /// cached encoder outputs rely on it), so they are not scaled.
    public static func groups(_ dims: ModelDims) -> [Group] {
        var out: [Group] = []
        func block(_ p: String, cross: Bool) {
            out.append(Group(fold: .layerNorm, source: p + "attn_ln", layers: ["query", "key", "value"].map { p + "attn.\($0).weight" }))
            out.append(Group(fold: .value, source: p + "attn", layers: [p + "attn.out.weight"]))
            if cross {
                out.append(Group(fold: .layerNorm, source: p + "cross_attn_ln", layers: [p + "cross_attn.query.weight"]))
                out.append(Group(fold: .value, source: p + "cross_attn", layers: [p + "cross_attn.out.weight"]))
            }
            out.append(Group(fold: .layerNorm, source: p + "mlp_ln", layers: [p + "mlp.0.weight"]))
        }
        for i in 0..<dims.nAudioLayer { block("encoder.blocks.\(i).", cross: false) }
        for i in 0..<dims.nTextLayer { block("decoder.blocks.\(i).", cross: true) }
        return out
    }

    /// `checkpoint` scaled from its layers' inputs on the windows of `calibration` (greedy
    /// decoding with `options` gives the decoder's tokens), the record in its manifest's
    /// `compression.input_scaling`. `progress` gets the windows run, then the groups fitted.
    public static func fit(_ checkpoint: Checkpoint, calibration: CalibrationSet, encoding: Encoding, blocks: BlockQuantizer,
                           options: DecodingOptions, progress: (Int, Int) -> Void = { _, _ in }) throws -> (checkpoint: Checkpoint, record: InputScalingRecord) {
        let model = try WhisperModel(checkpoint)
        var statistics = ActivationStatistics()
        for (k, window) in calibration.windows.enumerated() {
            _ = try ReferencePass(model: model, audio: window, options: options, statistics: &statistics)
            progress(k + 1, calibration.windows.count + groups(checkpoint.dims).count)
        }
        var (scaled, record) = try fit(checkpoint, statistics: statistics, encoding: encoding, blocks: blocks) {
            progress(calibration.windows.count + $0, calibration.windows.count + $1)
        }
        var manifest = scaled.archiveManifest ?? JSONObject()
        var compression = manifest["compression"]?.objectValue ?? JSONObject()
        compression["input_scaling"] = record.json
        manifest["compression"] = .object(compression)
        scaled.archiveManifest = manifest
        return (scaled, record)
    }

    /// `checkpoint` with every group of `groups(dims)` whose layers `encoding` can tile and
    /// whose input `statistics` observed scaled by its fitted exponent, and the record of the
    /// fit. The tensors touched must be in a float encoding; they are written back in it. An
    /// encoding whose blocks tile none of the layers is refused.
    /// `progress` gets groups done and their total.
    public static func fit(_ checkpoint: Checkpoint, statistics: ActivationStatistics, encoding: Encoding, blocks: BlockQuantizer,
                           progress: (Int, Int) -> Void = { _, _ in }) throws -> (checkpoint: Checkpoint, record: InputScalingRecord) {
        guard BlockGrid.encodings.contains(encoding) else {
            throw QuantizeError("input scaling is fitted for a ggml block encoding (q4_0 … q6_K), not \(encoding.rawValue)")
        }
        var tensors = Dictionary(uniqueKeysWithValues: checkpoint.tensors.map { ($0.name, $0.tensor) })
        let all = groups(checkpoint.dims)
        let widths = Set(all.flatMap(\.layers).compactMap { tensors[$0]?.rowLength }).sorted()
        guard all.isEmpty || widths.contains(where: { $0 % encoding.blockElements == 0 }) else {
            throw QuantizeError("\(encoding.rawValue)'s \(encoding.blockElements)-value blocks tile none of the layers whose inputs can be scaled (rows of \(widths.map(String.init).joined(separator: ", "))); fit the scales for an encoding whose blocks divide them, such as q4_0 or q5_0")
        }
        var fitted: [InputScalingRecord.Choice] = []
        for (k, group) in all.enumerated() {
            defer { progress(k + 1, all.count) }
            guard let fit = try fitGroup(group, tensors, statistics: statistics, encoding: encoding, blocks: blocks) else { continue }
            fitted.append(fit.choice)
            if fit.choice.exponent > 0 { try fold(group, scales: fit.scales, into: &tensors) }
        }
        var scaled = try Checkpoint(dims: checkpoint.dims, tensors: tensors, tokenizer: checkpoint.tokenizer, melFilters: checkpoint.melFilters,
                                    generation: checkpoint.generation, provenance: checkpoint.provenance)
        scaled.archiveManifest = checkpoint.archiveManifest
        return (scaled, InputScalingRecord(encoding: encoding, exponents: exponents, groups: fitted))
    }

    /// The best exponent for `group` and its scales; nil when a layer is missing, was not
    /// observed at its width, or cannot be tiled by `encoding`.
    static func fitGroup(_ group: Group, _ tensors: [String: Tensor], statistics: ActivationStatistics, encoding: Encoding,
                         blocks: BlockQuantizer) throws -> (choice: InputScalingRecord.Choice, scales: [Float])? {
        var layers: [(name: String, tensor: Tensor, values: [Float])] = []
        for name in group.layers {
            guard let t = tensors[name], t.shape.count == 2, encoding.tilesRows(of: t.shape) else { return nil }
            guard t.encoding.isFloat else {
                throw QuantizeError("input scaling needs the weights in a float encoding, found \(t.encoding.rawValue)", tensor: name)
            }
            layers.append((name, t, try t.decodedFloats()))
        }
        guard let first = layers.first, let meanSquares = statistics.importance(first.name, rowLength: first.tensor.rowLength),
              layers.allSatisfy({ $0.tensor.rowLength == meanSquares.count }) else { return nil }
        let candidates = exponents.map { scales(meanSquares, exponent: $0) }
        var errors = [Double](repeating: .nan, count: candidates.count)
        var failures = [Error?](repeating: nil, count: candidates.count)
        errors.withUnsafeMutableBufferPointer { e in
            failures.withUnsafeMutableBufferPointer { f in
                DispatchQueue.concurrentPerform(iterations: candidates.count) { k in  // each exponent writes only its own slot
                    do {
                        e[k] = try layers.reduce(0) { sum, layer in
                            sum + (try outputError(layer.values, shape: layer.tensor.shape, scales: candidates[k], meanSquares: meanSquares,
                                                   encoding: encoding, blocks: blocks))
                        }
                    } catch { f[k] = error }
                }
            }
        }
        if let failure = failures.compactMap({ $0 }).first { throw failure }
        let best = errors.indices.min { errors[$0] < errors[$1] || (errors[$0] == errors[$1] && $0 < $1) }!
        let choice = InputScalingRecord.Choice(fold: group.fold, source: group.source, exponent: exponents[best],
                                               unscaledError: errors[0], scaledError: errors[best])
        return (choice, candidates[best])
    }

    /// sᵢ = (mean square ᵢ)^(α/2), floored, over the geometric mean of the largest and smallest.
    static func scales(_ meanSquares: [Float], exponent: Double) -> [Float] {
        let mean = meanSquares.reduce(0.0) { $0 + Double($1) } / Double(max(1, meanSquares.count))
        let raw = meanSquares.map { pow(max(Double($0), mean * floor, Double.leastNormalMagnitude), exponent / 2) }
        let middle = (raw.max()! * raw.min()!).squareRoot()
        return raw.map { Float($0 / middle) }
    }

    /// Σⱼ E[xⱼ²]·Σᵣ (W − Q(W·diag s)·diag(1/s))²ᵣⱼ for the `rows × columns` `values`.
    static func outputError(_ values: [Float], shape: [Int], scales: [Float], meanSquares: [Float], encoding: Encoding,
                            blocks: BlockQuantizer) throws -> Double {
        let columns = scales.count
        var scaled = values
        scaleColumns(&scaled, by: scales)
        let importance = zip(meanSquares, scales).map { $0 / ($1 * $1) }
        let decoded = try Tensor(shape: shape, floats: scaled).converted(to: encoding, quantizer: blocks, importance: importance).decodedFloats()
        var columnErrors = [Double](repeating: 0, count: columns)
        for r in 0..<shape[0] {
            for j in 0..<columns {
                let d = Double(values[r * columns + j]) - Double(decoded[r * columns + j]) / Double(scales[j])
                columnErrors[j] += d * d
            }
        }
        return zip(columnErrors, meanSquares).reduce(0) { $0 + $1.0 * Double($1.1) }
    }

    /// Multiplies column j of the row-major matrix `values` (rows of `scales.count`) by `scales[j]`.
    static func scaleColumns(_ values: inout [Float], by scales: [Float]) {
        let columns = scales.count
        for r in 0..<(values.count / columns) { for j in 0..<columns { values[r * columns + j] *= scales[j] } }
    }

    /// Multiplies the group's layers' input columns by `scales` and divides the tensors
    /// producing their input by them, each written back in its own encoding.
    static func fold(_ group: Group, scales: [Float], into tensors: inout [String: Tensor]) throws {
        func rewrite(_ name: String, _ change: (inout [Float], Int) -> Void) throws {
            guard let t = tensors[name] else { throw QuantizeError("not in the checkpoint, needed to fold input scales", tensor: name) }
            guard t.encoding.isFloat else {
                throw QuantizeError("input scaling needs a float encoding here, found \(t.encoding.rawValue)", tensor: name)
            }
            var values = try t.decodedFloats()
            change(&values, t.rowLength)
            tensors[name] = try Tensor(shape: t.shape, floats: values).converted(to: t.encoding)
        }
        let inverse = scales.map { 1 / $0 }
        for layer in group.layers { try rewrite(layer) { v, _ in scaleColumns(&v, by: scales) } }
        let divided: [String]
        switch group.fold {
        case .layerNorm: divided = [group.source + ".weight", group.source + ".bias"]
        case .value: divided = [group.source + ".value.weight", group.source + ".value.bias"]
        }
        for name in divided {
            try rewrite(name) { v, rowLength in
                if v.count == inverse.count {  // a vector: one value per channel
                    for j in v.indices { v[j] *= inverse[j] }
                } else {  // the value projection: one row per channel
                    for r in 0..<inverse.count { for c in 0..<rowLength { v[r * rowLength + c] *= inverse[r] } }
                }
            }
        }
    }
}
