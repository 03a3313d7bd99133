import KDQAnalysis
import KDQEngine
import KDQJSON

/// Token sequences on which the decoder's linear layers are observed for GPTQ's covariances
/// (`ErrorWeighting.covariance`). The calibration windows give the decoder only a few hundred
/// tokens — too few rows per input column for H to describe its layers' inputs beyond that
/// audio (`CompensatedQuantizer.minimumRowsPerColumn`) — so a larger set of sequences supplies
/// them: teacher-labelled training clips, for example, which keep the evaluation audio out of
/// what the rounding is fitted to. With `observesEncoder`, the same clips' audio supplies the
/// encoder's layers (and the cross-attention keys and values) with rows too.
public struct DecoderCalibration {
    /// One clip: the encoder's output for it and the tokens the decoder is teacher-forced on
    /// (prompt, transcript, end of text).
    public typealias Sequence = (encoderOutput: [Float], tokens: [Int])

    /// How a clip's encoder output is obtained: `run` encodes 16 kHz samples (one padded
    /// window) with the model being observed, recording its encoder's inputs when
    /// `observesEncoder`. A stored output may stand in for `run` only when it does not.
    public struct EncoderPass {
        public let observesEncoder: Bool
        public let run: ([Float]) throws -> [Float]
    }

    /// Where the sequences came from, for the record.
    public let manifest: String
    /// Sequences available.
    public let count: Int
    /// Whether the encoder is observed on these clips as well as on the calibration utterances.
    public let observesEncoder: Bool
    private let sequence: (Int, EncoderPass) throws -> Sequence

    /// `count` sequences of clips listed in `manifest`, the i-th given by `sequence(i, pass)`
    /// (read when observed, one at a time: each holds a whole window's encoder output).
    public init(manifest: String, count: Int, observesEncoder: Bool = false, sequence: @escaping (Int, EncoderPass) throws -> Sequence) {
        self.manifest = manifest
        self.count = count
        self.observesEncoder = observesEncoder
        self.sequence = sequence
    }

    /// `count` clips spread over `manifest`, each in its own padded window: the clip's reference
    /// text where the manifest has one, else `model`'s greedy transcript with `options` (a
    /// transcript `GreedyLabel` finds unusable leaves the clip out). Decoded when observed.
    public static func transcribed(manifest path: String, count: Int, model: WhisperModel, options: DecodingOptions,
                                   observesEncoder: Bool = false) throws -> DecoderCalibration {
        guard count > 0 else { throw QuantizeError("the decoder's covariances need at least one clip, got \(count)") }
        let clips = try ClipManifest(path: path).spread(count)
        return DecoderCalibration(manifest: path, count: clips.count, observesEncoder: observesEncoder) { i, pass in
            let encoded = try pass.run(try AudioLoader.window(clips[i].audio))
            if let text = clips[i].text { return (encoded, try model.teacherSequence(text: text, options: options)) }
            let label = try model.greedyLabel(encoderOutput: encoded, options: options)
            return (encoded, label.unusable == nil ? label.tokens : [])
        }
    }

    /// The tensor whose inputs are not observed: the token embedding is also the decoder's
    /// logits projection, but its rows are read as input embeddings as well, where H (the final
    /// hidden state's covariance) says nothing about what their error costs. Compensated for its
    /// logits role it lowered the calibration KL of base's 29.9 MB plan and raised its dev CER
    /// (docs/quantization.md).
    static let unobserved = "decoder.token_embedding.weight"

    /// Adds the inputs of the decoder's self-attention, cross-attention query and output, and MLP
    /// layers for every sequence to `statistics` — with `observesEncoder`, also the encoder's
    /// layers and the cross-attention keys and values on each clip's window; otherwise those read
    /// the encoder output only the calibration windows observe (the token embedding is
    /// `unobserved`; an empty sequence is skipped) — and returns the record of what was observed.
    /// `progress` gets sequences done and the total.
    func observe(_ model: WhisperModel, into statistics: inout ActivationStatistics,
                 progress: ((Int, Int) -> Void)?) throws -> DecoderCovariances {
        var observed = statistics
        var tokens = 0, sequences = 0
        let record: LinearInputObserver = { name, input, rows in
            if name != Self.unobserved { observed.add(name, input, rows: rows) }
        }
        // The encoder's side (its pass and the cross-attention keys and values), recorded only
        // when these clips observe the encoder.
        let observesEncoder = self.observesEncoder
        func encoderSide<T>(_ body: () throws -> T) throws -> T {
            observesEncoder ? try model.observingLinearInputs(record, body) : try body()
        }
        let pass = EncoderPass(observesEncoder: observesEncoder) { samples in
            let mel = model.melWindow(samples)
            return try encoderSide { try model.encoder.encode(mel) }
        }
        for i in 0..<count {
            progress?(i, count)
            let s = try sequence(i, pass)
            guard !s.tokens.isEmpty else { continue }
            let state = try encoderSide { try model.decoder.makeState(encoderOutput: s.encoderOutput) }
            try model.observingLinearInputs(record) {
                _ = try model.decoder.forward(s.tokens, state: state)
            }
            tokens += s.tokens.count
            sequences += 1
        }
        progress?(count, count)
        statistics = observed
        return DecoderCovariances(manifest: manifest, sequences: sequences, tokens: tokens, encoderWindows: observesEncoder ? sequences : 0)
    }
}

/// Where the decoder's GPTQ covariances came from, as the archive records it.
public struct DecoderCovariances: Sendable, Equatable {
    public let manifest: String
    /// Sequences observed.
    public let sequences: Int
    /// Token positions observed (rows of each decoder layer's H).
    public let tokens: Int
    /// Windows of these clips the encoder was observed on besides the calibration utterances
    /// (0: the encoder's covariances are the calibration utterances' alone).
    public let encoderWindows: Int

    public init(manifest: String, sequences: Int, tokens: Int, encoderWindows: Int = 0) {
        self.manifest = manifest
        self.sequences = sequences
        self.tokens = tokens
        self.encoderWindows = encoderWindows
    }

    /// The record back from its JSON form (`encoder_windows` absent: 0, as archives written
    /// before it was recorded).
    public init(json v: JSONValue) throws {
        guard let manifest = v["manifest"]?.stringValue, let sequences = v["sequences"]?.intValue, let tokens = v["tokens"]?.intValue else {
            throw QuantizeError("compression.encodings.decoder_covariances needs a manifest, sequences and tokens: \(v.serialized(pretty: false).prefix(200))")
        }
        let windows = v["encoder_windows"]
        guard windows == nil || windows?.intValue.map({ $0 >= 0 }) == true else {
            throw QuantizeError("compression.encodings.decoder_covariances.encoder_windows is \(windows!.serialized(pretty: false).prefix(40)), expected a count")
        }
        self.init(manifest: manifest, sequences: sequences, tokens: tokens, encoderWindows: windows?.intValue ?? 0)
    }

    /// `{"manifest", "sequences", "tokens", "encoder_windows"}`.
    public var json: JSONValue {
        .object(["manifest": .string(manifest), "sequences": .number(sequences), "tokens": .number(tokens),
                 "encoder_windows": .number(encoderWindows)])
    }
}
