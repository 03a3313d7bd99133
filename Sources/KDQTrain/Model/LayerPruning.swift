import KDQFormats
import KDQTensor

/// A layer-pruned copy of a model: the kept blocks renumbered from 0, everything else as it is.
public enum LayerPruning {
    /// The dims and tensors of `checkpoint` keeping decoder blocks `decoderLayers` (and encoder
    /// blocks `encoderLayers`, all when nil), in the order given.
    public static func prune(_ checkpoint: Checkpoint, decoderLayers: [Int], encoderLayers: [Int]? = nil) throws
        -> (dims: ModelDims, tensors: [(name: String, tensor: Tensor)]) {
        let d = checkpoint.dims
        let encoder = encoderLayers ?? Array(0..<d.nAudioLayer)
        for (layers, count, side) in [(decoderLayers, d.nTextLayer, "decoder"), (encoder, d.nAudioLayer, "encoder")] {
            guard !layers.isEmpty, Set(layers).count == layers.count, layers.allSatisfy({ (0..<count).contains($0) }) else {
                throw TrainingError("\(side) layers \(layers) must be distinct, at least one, and within the model's 0…\(count - 1)")
            }
        }
        let decoderMap = Dictionary(uniqueKeysWithValues: decoderLayers.enumerated().map { ($1, $0) })
        let encoderMap = Dictionary(uniqueKeysWithValues: encoder.enumerated().map { ($1, $0) })
        var tensors: [(name: String, tensor: Tensor)] = []
        for (name, t) in checkpoint.tensors {
            guard let block = BlockTensorName(name) else {
                tensors.append((name, t))
                continue
            }
            if let kept = (block.stack == .decoder ? decoderMap : encoderMap)[block.index] { tensors.append((block.renumbered(kept).name, t)) }
        }
        var dims = d
        dims.nTextLayer = decoderLayers.count
        dims.nAudioLayer = encoder.count
        return (dims, tensors)
    }
}
