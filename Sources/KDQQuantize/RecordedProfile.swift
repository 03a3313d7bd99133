import KDQAnalysis
import KDQJSON
import KDQTensor

/// The measured sensitivities a guided `.kdq` archive records (`compression.encodings` and
/// `compression.error_profiles`), so that a plan at another budget can reuse them instead of
/// running the model again. Each reused measurement is checked against the alternative's
/// weight-space error computed now: a profile of other weights, another calibration or another
/// quantizer is refused, not silently mixed in.
public struct RecordedProfile: Sendable {
    struct Measurement: Sendable {
        let meanKL: Double
        let rmse: Double
        /// The encoded size, when recorded: another size is another shape of the tensor.
        let bytes: Int?
        let encoderLayers: [Double]
        let encoderOutput: Double?
        let decoderLayers: [Double]
    }

    /// Where the record came from, for messages.
    public let source: String
    /// Calibration windows and scored positions the record was measured on.
    public let windows: Int
    public let positions: Int
    let measurements: [String: [Encoding: Measurement]]

    /// Reads the record from an archive manifest's `compression` object.
    public init(compression: JSONObject?, source: String) throws {
        self.source = source
        guard let tensors = compression?["encodings"]?["tensors"]?.objectValue,
              let profiles = compression?["error_profiles"]?.objectValue,
              let windows = profiles["windows"]?.intValue, let positions = profiles["positions"]?.intValue
        else {
            throw QuantizeError("\(source) holds no measured sensitivity profile (compression.encodings and error_profiles of a guided quantization)")
        }
        self.windows = windows
        self.positions = positions
        let layers = profiles["tensors"]?.objectValue ?? JSONObject()
        var measurements: [String: [Encoding: Measurement]] = [:]
        for name in tensors.keys {
            guard let alternatives = tensors[name]?["alternatives"]?.objectValue else { continue }
            for key in alternatives.keys {
                guard let a = alternatives[key]?.objectValue, a["kl_measured"]?.boolValue == true,
                      let encoding = Encoding(rawValue: key), let kl = a["mean_kl"]?.doubleValue, let rmse = a["rmse"]?.doubleValue
                else { continue }
                let profile = layers[name]?[key]?.objectValue
                func numbers(_ field: String) -> [Double] { profile?[field]?.arrayValue?.map { $0.doubleValue ?? .infinity } ?? [] }
                measurements[name, default: [:]][encoding] = Measurement(
                    meanKL: kl, rmse: rmse, bytes: a["bytes"]?.intValue, encoderLayers: numbers("encoder_layers"),
                    encoderOutput: profile?["encoder_output"]?.doubleValue, decoderLayers: numbers("decoder_layers"))
            }
        }
        self.measurements = measurements
    }

    /// Refuses a record measured on other calibration windows than the profiler's.
    public func checkCalibration(windows: Int, positions: Int) throws {
        guard windows == self.windows, positions == self.positions else {
            throw QuantizeError("\(source) was profiled on \(self.windows) calibration windows with \(self.positions) scored positions; "
                + "this calibration has \(windows) windows with \(positions) positions (it needs the same source model, manifest, --calibration-count, --calibration-windows and --language)")
        }
    }

    /// The recorded measurement of `tensor` in `encoding` as a sensitivity, or nil when the
    /// record has none or measured the tensor at another size (a vocabulary-trimmed model's
    /// token embedding: measured again). Throws when the recorded weight-space RMSE disagrees
    /// with `weight`.
    func sensitivity(_ tensor: String, _ encoding: Encoding, bytes: Int, weight: ErrorMetrics) throws -> Sensitivity? {
        guard let m = measurements[tensor]?[encoding], m.bytes == nil || m.bytes == bytes else { return nil }
        let now = weight.rmse
        guard abs(m.rmse - now) <= 1e-4 * max(m.rmse, now) else {
            throw QuantizeError("\(source) records \(encoding.rawValue) RMSE \(m.rmse), this quantizer gives \(now): "
                + "profiled from other weights, calibration or quantizer settings", tensor: tensor)
        }
        return Sensitivity(encoding: encoding, bytes: bytes, weight: weight, meanKL: m.meanKL, measured: true,
                           encoderLayers: m.encoderLayers, encoderOutput: m.encoderOutput, decoderLayers: m.decoderLayers)
    }
}
