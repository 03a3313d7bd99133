import KDQAnalysis
import KDQEngine
import KDQFormats
import KDQJSON
import KDQTrain

/// Makes a layer-pruned student of a teacher: chooses the decoder blocks to keep (measured, even
/// or given), copies them (and the chosen encoder blocks) renumbered, and records the choice.
public enum StudentBuilder {
    /// How the kept decoder blocks are chosen.
    public enum Choice: Sendable, Equatable {
        case measured, even
        case given([Int])

        /// `measured`, `even`, or a comma-separated list of block numbers.
        public init?(argument: String) {
            switch argument {
            case "measured": self = .measured
            case "even": self = .even
            default:
                let parts = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
                self = .given(parts.map { $0! })
            }
        }
    }

    /// Taught clips from `count` clips spread over `manifest` (text not needed): the teacher's
    /// encoder output and greedy transcript of each, one padded window per clip.
    public static func calibrationClips(_ teacher: WhisperModel, manifest: String, count: Int, options: DecodingOptions) throws -> [TaughtClip] {
        try ClipManifest(path: manifest).spread(count).map {
            let samples = try AudioLoader.window($0.audio)
            return try TaughtClip.teacherLabelled(id: $0.id, samples: samples, teacher: teacher, options: options)
        }
    }

    /// The student checkpoint (the teacher's tensors in their own encodings, pruned) and its
    /// selection record, also written into the checkpoint's archive manifest
    /// (`compression.layer_map`). `clips` are needed for `.measured`.
    public static func build(_ teacher: Checkpoint, decoderLayers count: Int, encoderLayers: Int?, choice: Choice, clips: [TaughtClip],
                             progress: (Int, Int) -> Void = { _, _ in }) throws -> (Checkpoint, LayerSelection) {
        let layers = teacher.dims.nTextLayer
        let encoder = try encoderLayers.map { try LayerSelection.even($0, of: teacher.dims.nAudioLayer) }
        let selection: LayerSelection
        switch choice {
        case .measured:
            selection = try PrunedDecoderScorer(teacher: teacher, clips: clips).select(count, progress: progress)
        case .even:
            selection = LayerSelection(method: .even, teacherDecoderLayers: layers, decoderLayers: try LayerSelection.even(count, of: layers),
                                       encoderLayers: nil, candidates: [], positions: 0)
        case .given(let list):
            guard list.count == count else { throw TrainingError("--select lists \(list.count) layers but --decoder-layers is \(count)") }
            selection = LayerSelection(method: .given, teacherDecoderLayers: layers, decoderLayers: list, encoderLayers: nil,
                                       candidates: [], positions: 0)
        }
        let record = LayerSelection(method: selection.method, teacherDecoderLayers: layers, decoderLayers: selection.decoderLayers,
                                    encoderLayers: encoder, candidates: selection.candidates, positions: selection.positions)
        let (dims, tensors) = try LayerPruning.prune(teacher, decoderLayers: record.decoderLayers, encoderLayers: encoder)
        var student = try Checkpoint(dims: dims, tensors: Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.tensor) }),
                                     tokenizer: teacher.tokenizer, melFilters: teacher.melFilters, generation: teacher.generation,
                                     provenance: teacher.provenance)
        var manifest = teacher.archiveManifest ?? JSONObject()
        var compression = manifest["compression"]?.objectValue ?? JSONObject()
        compression["layer_map"] = record.json
        for key in ["encodings", "error_profiles", "evaluation"] { compression[key] = .null }  // they described the teacher
        manifest["compression"] = .object(compression)
        student.archiveManifest = manifest
        return (student, record)
    }
}
