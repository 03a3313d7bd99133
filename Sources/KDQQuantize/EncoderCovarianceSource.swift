/// Which audio gives the encoder's layers (and the cross-attention keys and values) their GPTQ
/// covariances under `ErrorWeighting.covariance`.
public enum EncoderCovarianceSource: String, Sendable, CaseIterable {
    /// The calibration utterances alone, each in its own padded window.
    case calibration
    /// The calibration utterances and the clips the decoder's covariances come from
    /// (`DecoderCalibration.observesEncoder`): many more rows, none of them the calibration audio's.
    case clips
}
