import Testing
import KDQEngine
import KDQFormats
import KDQJSON
import KDQTensor
@testable import KDQQuantize

/// A guided archive's recorded profile reused by the profiler (real tiny.en when fetched).
@Suite(.serialized) struct RecordedProfileTests {
    static let tensor = "decoder.blocks.3.mlp.2.weight"

    /// The profiler on tiny.en with the JFK calibration, one tensor profiled at q8_0 and
    /// q4_0 (both run), and the archive record of that profile.
    static func profiled() throws -> (profiler: SensitivityProfiler, profile: SensitivityProfile, record: JSONObject) {
        let checkpoint = try Checkpoint.open(SensitivityProfilerTests.tinyEn!)
        let profiler = try SensitivityProfiler(checkpoint: checkpoint, model: try WhisperModel(checkpoint),
                                               calibration: try SensitivityProfilerTests.calibration(), options: DecodingOptions(),
                                               blocks: .nearest, weighting: .none)
        let profile = try profiler.profile([(tensor, [.q8_0, .q4_0])], measureAll: true)
        let plan = try QuantizationPlanner.guided(checkpoint, profile: profile, budget: .megabytes(1000))
        let record: JSONObject = ["encodings": QuantizationRecord.encodings(plan, profile: profile, quantizer: profiler.quantizer, calibration: nil),
                                  "error_profiles": QuantizationRecord.errorProfiles(profile)]
        return (profiler, profile, record)
    }

    /// `value` with the member at `path` replaced by `replacement`.
    static func setting(_ path: [String], to replacement: JSONValue, in value: JSONValue) -> JSONValue {
        guard let key = path.first, var object = value.objectValue, let child = object[key] else { return replacement }
        object[key] = setting(Array(path.dropFirst()), to: replacement, in: child)
        return .object(object)
    }

    static func alternative(_ profile: SensitivityProfile, _ encoding: Encoding) -> Sensitivity? {
        profile.entry(tensor)?.alternatives.first { $0.encoding == encoding }
    }

    @Test(.enabled(if: SensitivityProfilerTests.tinyEn != nil, "run scripts/fetch-models.sh"))
    func recordedMeasurementsAreTakenNotRunAgain() throws {
        let (profiler, profile, record) = try Self.profiled()
        let reread = try RecordedProfile(compression: record, source: "record")
        let again = try profiler.profile([(Self.tensor, [.q8_0, .q4_0])], measureAll: true, recorded: reread)
        for e in [Encoding.q8_0, .q4_0] {
            let (a, b) = (try #require(Self.alternative(profile, e)), try #require(Self.alternative(again, e)))
            #expect(b.measured && a.meanKL == b.meanKL && a.encoderLayers == b.encoderLayers && a.decoderLayers == b.decoderLayers,
                    "\(e.rawValue): measured \(a.meanKL!) recorded \(b.meanKL!)")
        }
        // A recorded value, not a new run: an edited KL comes back as written.
        let edited = Self.setting(["encodings", "tensors", Self.tensor, "alternatives", "q4_0", "mean_kl"], to: .double(1.5), in: .object(record))
        let taken = try profiler.profile([(Self.tensor, [.q8_0, .q4_0])], recorded: try RecordedProfile(compression: edited.objectValue, source: "edited"))
        #expect(Self.alternative(taken, .q4_0)?.meanKL == 1.5)
    }

    /// A profile kept on its own (no plan: `kdq compress`'s work-directory cache) reads back
    /// with every measurement as it was.
    @Test(.enabled(if: SensitivityProfilerTests.tinyEn != nil, "run scripts/fetch-models.sh"))
    func aProfileKeptWithoutAPlanIsTakenBack() throws {
        let (profiler, profile, _) = try Self.profiled()
        let kept = try JSONValue.parse(JSONValue.object(QuantizationRecord.profileRecord(profile)).serialized())
        let again = try profiler.profile([(Self.tensor, [.q8_0, .q4_0])], measureAll: true,
                                         recorded: try RecordedProfile(compression: kept.objectValue, source: "teacher-profile.json"))
        for e in [Encoding.q8_0, .q4_0] {
            let (a, b) = (try #require(Self.alternative(profile, e)), try #require(Self.alternative(again, e)))
            #expect(b.measured && a.meanKL == b.meanKL && a.encoderLayers == b.encoderLayers && a.decoderLayers == b.decoderLayers
                    && a.encoderOutput == b.encoderOutput, "\(e.rawValue): measured \(a.meanKL!) kept \(b.meanKL!)")
        }
        // Taken from the file, not run again: an edited KL comes back as written.
        let edited = Self.setting(["encodings", "tensors", Self.tensor, "alternatives", "q4_0", "mean_kl"], to: .double(2.5), in: kept)
        let taken = try profiler.profile([(Self.tensor, [.q8_0, .q4_0])], recorded: try RecordedProfile(compression: edited.objectValue, source: "edited"))
        #expect(Self.alternative(taken, .q4_0)?.meanKL == 2.5)
    }

    @Test(.enabled(if: SensitivityProfilerTests.tinyEn != nil, "run scripts/fetch-models.sh"))
    func aRecordOfOtherWeightsIsRefused() throws {
        let (profiler, _, record) = try Self.profiled()
        let edited = Self.setting(["encodings", "tensors", Self.tensor, "alternatives", "q4_0", "rmse"], to: .double(0.5), in: .object(record))
        let recorded = try RecordedProfile(compression: edited.objectValue, source: "other.kdq")
        #expect {
            try profiler.profile([(Self.tensor, [.q8_0, .q4_0])], recorded: recorded)
        } throws: { "\($0)".contains("other.kdq records q4_0 RMSE 0.5") && "\($0)".contains(Self.tensor) }
    }

    /// A record of the tensor at another size (a trimmed vocabulary's token embedding) is not
    /// taken: the tensor is measured again, whatever the record says.
    @Test(.enabled(if: SensitivityProfilerTests.tinyEn != nil, "run scripts/fetch-models.sh"))
    func aRecordOfAnotherSizeIsMeasuredAgain() throws {
        let (profiler, profile, record) = try Self.profiled()
        var edited = JSONValue.object(record)
        for e in ["q8_0", "q4_0"] {
            edited = Self.setting(["encodings", "tensors", Self.tensor, "alternatives", e, "mean_kl"], to: .double(9), in: edited)
            edited = Self.setting(["encodings", "tensors", Self.tensor, "alternatives", e, "bytes"], to: .int(12), in: edited)
        }
        let again = try profiler.profile([(Self.tensor, [.q8_0, .q4_0])], measureAll: true,
                                         recorded: try RecordedProfile(compression: edited.objectValue, source: "smaller.kdq"))
        for e in [Encoding.q8_0, .q4_0] {
            #expect(Self.alternative(again, e)?.meanKL == Self.alternative(profile, e)?.meanKL, "\(e.rawValue)")
        }
    }

    @Test(.enabled(if: SensitivityProfilerTests.tinyEn != nil, "run scripts/fetch-models.sh"))
    func aRecordOfOtherCalibrationWindowsIsRefused() throws {
        let (profiler, _, record) = try Self.profiled()
        let edited = Self.setting(["error_profiles", "windows"], to: .int(7), in: .object(record))
        let recorded = try RecordedProfile(compression: edited.objectValue, source: "other.kdq")
        #expect {
            try profiler.profile([(Self.tensor, [.q8_0, .q4_0])], recorded: recorded)
        } throws: { "\($0)".contains("profiled on 7 calibration windows") }
    }

    @Test func anArchiveWithoutAProfileIsRefused() throws {
        #expect {
            try RecordedProfile(compression: ["encodings": .object(["method": "uniform"])], source: "u.kdq")
        } throws: { "\($0)".contains("u.kdq holds no measured sensitivity profile") }
    }
}
