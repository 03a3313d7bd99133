import Testing
import KDQEngine
import KDQFormats
import KDQJSON
import KDQTensor
@testable import KDQQuantize

/// The decoder's GPTQ covariances from sequences other than the calibration windows: which
/// layers they cover, how many rows, and that they make the decoder's layers compensated.
struct DecoderCalibrationTests {
    /// `count` sequences cycling through tiny.en's greedy transcript of the calibration clip
    /// (its audio encoded again when the encoder is observed).
    static func sequences(_ model: WhisperModel, _ calibration: CalibrationSet, count: Int, observesEncoder: Bool = false) throws -> DecoderCalibration {
        let samples = calibration.utterances[0].samples
        let encoded = try model.encoder.encode(model.melWindow(samples))
        let tokens = try model.greedySequence(encoderOutput: encoded)
        return DecoderCalibration(manifest: "clips.jsonl", count: count, observesEncoder: observesEncoder) { _, pass in
            (pass.observesEncoder ? try pass.run(samples) : encoded, tokens)
        }
    }

    @Test func theRecordRoundTrips() throws {
        let record = DecoderCovariances(manifest: "distill/manifest.jsonl", sequences: 512, tokens: 9_216, encoderWindows: 512)
        #expect(try DecoderCovariances(json: JSONValue.parse(record.json.serialized(pretty: false))) == record)
    }

    @Test func aRecordWrittenBeforeEncoderWindowsHasNone() throws {
        let v = JSONValue.object(["manifest": .string("m.jsonl"), "sequences": .number(4), "tokens": .number(40)])
        #expect(try DecoderCovariances(json: v).encoderWindows == 0)
    }

    @Test func aNegativeEncoderWindowCountIsAnError() throws {
        let v = JSONValue.object(["manifest": .string("m.jsonl"), "sequences": .number(4), "tokens": .number(40), "encoder_windows": .number(-1)])
        let e = #expect(throws: QuantizeError.self) { try DecoderCovariances(json: v) }
        #expect(e?.description.contains("encoder_windows is -1, expected a count") == true, "\(String(describing: e))")
    }

    @Test func aRecordWithoutItsTokenCountIsAnError() throws {
        let e = #expect(throws: QuantizeError.self) { try DecoderCovariances(json: .object(["manifest": .string("m.jsonl"), "sequences": .number(4)])) }
        #expect(e?.description.contains("decoder_covariances needs a manifest, sequences and tokens") == true, "\(String(describing: e))")
    }

    @Test(.enabled(if: SensitivityProfilerTests.tinyEn != nil, "run scripts/fetch-models.sh"))
    func decoderLayersGetCovariancesFromTheSequences() throws {
        let checkpoint = try Checkpoint.open(SensitivityProfilerTests.tinyEn!)
        let model = try WhisperModel(checkpoint)
        let calibration = try SensitivityProfilerTests.calibration()
        let sequences = try Self.sequences(model, calibration, count: 3)
        var reported: [(Int, Int)] = []
        let profiler = try SensitivityProfiler(checkpoint: checkpoint, model: model, calibration: calibration, options: DecodingOptions(),
                                               blocks: .search, weighting: .covariance, decoderCalibration: sequences,
                                               progress: { reported.append(($0, $1)) })
        let stats = try #require(profiler.quantizer.statistics)
        let tokens = 3 * (try model.greedySequence(encoderOutput: model.encoder.encode(model.melWindow(calibration.utterances[0].samples)))).count
        for layer in ["attn.query", "attn.key", "attn.value", "attn.out", "cross_attn.query", "cross_attn.out", "mlp.0", "mlp.2"] {
            let name = "decoder.blocks.1.\(layer).weight"
            #expect(stats.covarianceRowCount(name) == tokens, "\(name): \(stats.covarianceRowCount(name)) rows, expected \(tokens)")
        }
        // Keys and values of cross-attention: the calibration utterance's encoder output only.
        #expect(stats.covarianceRowCount("decoder.blocks.1.cross_attn.key.weight") == 1500 * calibration.utterances.count)
        #expect(stats.covarianceRowCount(DecoderCalibration.unobserved) == 0)
        #expect(profiler.quantizer.decoderCovariances == DecoderCovariances(manifest: "clips.jsonl", sequences: 3, tokens: tokens))
        #expect(reported.last.map { $0 == (3, 3) } == true, "progress \(reported)")
    }

    /// With `observesEncoder`, every clip's window adds its 1,500 frames to the encoder's layers
    /// and to the cross-attention keys and values, beside the calibration utterances'.
    @Test(.enabled(if: SensitivityProfilerTests.tinyEn != nil, "run scripts/fetch-models.sh"))
    func clipsObserveTheEncoderWhenAsked() throws {
        let checkpoint = try Checkpoint.open(SensitivityProfilerTests.tinyEn!)
        let model = try WhisperModel(checkpoint)
        let calibration = try SensitivityProfilerTests.calibration()
        var rows: [Int] = []
        for observes in [false, true] {
            let profiler = try SensitivityProfiler(checkpoint: checkpoint, model: model, calibration: calibration, options: DecodingOptions(),
                                                   blocks: .search, weighting: .covariance,
                                                   decoderCalibration: try Self.sequences(model, calibration, count: 2, observesEncoder: observes))
            let stats = try #require(profiler.quantizer.statistics)
            let encoder = stats.covarianceRowCount("encoder.blocks.2.mlp.0.weight")
            #expect(stats.covarianceRowCount("decoder.blocks.0.cross_attn.value.weight") == encoder)
            #expect(profiler.quantizer.decoderCovariances?.encoderWindows == (observes ? 2 : 0))
            rows.append(encoder)
        }
        #expect(rows == [1500 * calibration.utterances.count, 1500 * (calibration.utterances.count + 2)], "\(rows)")
    }

    /// Enough rows per input column make a decoder layer rounded by GPTQ (other levels than
    /// the activation-weighted search picks); the record names where its covariance came from.
    @Test(.enabled(if: SensitivityProfilerTests.tinyEn != nil, "run scripts/fetch-models.sh"))
    func enoughSequencesCompensateTheDecoder() throws {
        let checkpoint = try Checkpoint.open(SensitivityProfilerTests.tinyEn!)
        let model = try WhisperModel(checkpoint)
        let calibration = try SensitivityProfilerTests.calibration()
        let name = "decoder.blocks.0.attn.query.weight"
        let t = try #require(checkpoint.tensor(named: name))
        let tokens = try model.greedySequence(encoderOutput: model.encoder.encode(model.melWindow(calibration.utterances[0].samples))).count
        let needed = (CompensatedQuantizer.minimumRowsPerColumn * t.shape[1] + tokens - 1) / tokens
        var converted: [Tensor] = []
        for count in [needed - 1, needed] {
            let profiler = try SensitivityProfiler(checkpoint: checkpoint, model: model, calibration: calibration, options: DecodingOptions(),
                                                   blocks: .search, weighting: .covariance,
                                                   decoderCalibration: try Self.sequences(model, calibration, count: count))
            converted.append(try profiler.quantizer.convert(name, t, to: .q4_0))
            if count == needed {
                let plan = QuantizationPlan(method: .uniform, choices: [], budgetBytes: nil, budget: nil, sourceBytes: 0, predictedKL: nil, elements: 0)
                let record = QuantizationRecord.encodings(plan, profile: nil, quantizer: profiler.quantizer, calibration: nil)
                #expect(record["decoder_covariances"]?["sequences"]?.intValue == needed)
                #expect(record["decoder_covariances"]?["tokens"]?.intValue == needed * tokens)
            }
        }
        let plain = try t.converted(to: .q4_0, quantizer: .search,
                                    importance: SensitivityProfiler(checkpoint: checkpoint, model: model, calibration: calibration,
                                                                    options: DecodingOptions(), blocks: .search, weighting: .activations)
                                        .quantizer.importance(name, t))
        #expect(converted[0].data.hasSameBytes(as: plain.data), "too few rows: activation-weighted rounding")
        #expect(!converted[1].data.hasSameBytes(as: plain.data), "enough rows: compensated")
    }
}
