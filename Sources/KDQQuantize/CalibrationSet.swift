import KDQAnalysis
import KDQEngine

/// Calibration audio for measuring quantization: utterances of a manifest, and the windows
/// the model is measured on — either the same audio packed end to end into 30-second windows
/// (half a second of silence between clips; speech across every encoder pass), or one clip
/// per window padded with silence, as short clips are transcribed.
public struct CalibrationSet: Sendable {
    /// How utterances become 30-second windows.
    public enum Windows: String, Sendable, CaseIterable {
        case packed, single
    }

    /// The utterances used, with their audio (16 kHz mono) and reference text.
    public let utterances: [(id: String, text: String, samples: [Float])]
    /// Audio of each packed window, at most 30 s.
    public let windows: [[Float]]
    /// The manifest the utterances came from.
    public let manifest: String

    /// Loads `count` utterances spread evenly over `manifest` (all of them when it lists
    /// fewer), so that the speakers and recording conditions of the whole list are sampled;
    /// clips longer than a window are cut.
    public init(manifest: String, count: Int, windows layout: Windows = .packed) throws {
        guard count > 0 else { throw QuantizeError("the calibration set needs at least one utterance, got \(count)") }
        let all = try EvalManifest(path: manifest).utterances
        let listed = (0..<min(count, all.count)).map { all[$0 * all.count / min(count, all.count)] }
        var utterances: [(id: String, text: String, samples: [Float])] = []
        for u in listed {
            let samples = try AudioLoader.load(u.audio)
            utterances.append((u.id, u.text, Array(samples.prefix(LogMelSpectrogram.windowSamples))))
        }
        self.utterances = utterances
        self.manifest = manifest
        windows = layout == .packed ? Self.pack(utterances.map(\.samples)) : utterances.map(\.samples).filter { !$0.isEmpty }
    }

    /// Packs clips in order into windows of at most 30 s with `gap` samples of silence between.
    static func pack(_ clips: [[Float]], gap: Int = 8_000) -> [[Float]] {
        var windows: [[Float]] = []
        var current: [Float] = []
        for clip in clips where !clip.isEmpty {
            let needed = (current.isEmpty ? 0 : gap) + clip.count
            if current.count + needed > LogMelSpectrogram.windowSamples {
                windows.append(current)
                current = []
            }
            if !current.isEmpty { current += [Float](repeating: 0, count: gap) }
            current += clip
        }
        if !current.isEmpty { windows.append(current) }
        return windows
    }
}

extension CalibrationSet {
    /// Word edits of `model`'s transcripts (one per utterance, Whisper's English normalizer
    /// on both sides) against the manifest's texts, summed.
    public func wordErrors(_ model: WhisperModel, options: DecodingOptions) throws -> EditCounts {
        let transcriber = Transcriber(model: model, options: options)
        let normalize = EnglishTextNormalizer()
        var total = EditCounts()
        for u in utterances {
            let text = try transcriber.transcribe(u.samples).text
            total = total + EditCounts.words(reference: normalize(u.text), hypothesis: normalize(text))
        }
        return total
    }
}
