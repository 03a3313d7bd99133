#if canImport(Glibc)
import Glibc
#endif

extension MelFilters {
    /// The filterbank openai-whisper ships (`librosa.filters.mel(sr=16000, n_fft=400,
    /// n_mels=N)`, slaney scale and norm), computed the way librosa computes it: in double
    /// precision, stored to f32 before the f32 × f64 normalization, as numpy does.
    public static func slaney(nMels: Int, sampleRate: Double = 16000, nFFT: Int = 400) -> MelFilters {
        let bins = nFFT / 2 + 1
        let fftFreqs = (0..<bins).map { Double($0) * sampleRate / Double(nFFT) }
        let minMel = hzToMel(0), maxMel = hzToMel(sampleRate / 2)
        let count = nMels + 2
        let step = (maxMel - minMel) / Double(count - 1)
        var mels = (0..<count).map { minMel + Double($0) * step }
        mels[count - 1] = maxMel
        let melF = mels.map(melToHz)
        var values = [Float](repeating: 0, count: nMels * bins)
        for i in 0..<nMels {
            let lowerDiff = melF[i + 1] - melF[i], upperDiff = melF[i + 2] - melF[i + 1]
            let enorm = 2.0 / (melF[i + 2] - melF[i])
            for k in 0..<bins {
                let lower = -(melF[i] - fftFreqs[k]) / lowerDiff
                let upper = (melF[i + 2] - fftFreqs[k]) / upperDiff
                let w = Float(Swift.max(0, Swift.min(lower, upper)))
                values[i * bins + k] = Float(Double(w) * enorm)
            }
        }
        return MelFilters(nMels: nMels, nFrequencies: bins, values: values)
    }

    static let fSp = 200.0 / 3, minLogHz = 1000.0, minLogMel = 15.0, logStep = log(6.4) / 27

    static func hzToMel(_ hz: Double) -> Double {
        hz >= minLogHz ? minLogMel + log(hz / minLogHz) / logStep : hz / fSp
    }

    static func melToHz(_ mel: Double) -> Double {
        mel >= minLogMel ? minLogHz * exp(logStep * (mel - minLogMel)) : fSp * mel
    }
}
