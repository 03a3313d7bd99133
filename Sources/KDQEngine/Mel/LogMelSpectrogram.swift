import CBLAS
import CFFTW
import Dispatch
import KDQFormats
#if canImport(Glibc)
import Glibc
#endif

/// openai-whisper's log-mel spectrogram: a centered STFT (n_fft 400, hop 160, periodic Hann,
/// reflect padding), power spectrum without the last frame, the mel filterbank, log10 clamped
/// at 1e-10, floored at max − 8, then (x + 4) / 4. FFTs through FFTW, the filterbank product
/// through BLAS.
public struct LogMelSpectrogram {
    public static let nFFT = 400
    public static let hop = 160
    /// Samples in a 30-second window, and its frames.
    public static let windowSamples = 480_000
    public static let windowFrames = 3000

    public let filters: MelFilters

    public init(filters: MelFilters) { self.filters = filters }

    /// The spectrogram of `samples` followed by `padding` zeros, as `nMels × frames`
    /// (row-major), frames = (count + padding) / hop.
    public func compute(_ samples: [Float], padding: Int = 0) -> [Float] {
        let n = samples.count + padding
        let frames = n / Self.hop
        guard frames > 0 else { return [] }
        let half = Self.nFFT / 2
        // Reflect padding by n_fft/2 on both sides, as torch.stft(center=True) does.
        var padded = [Float](repeating: 0, count: n + 2 * half)
        for i in 0..<n { padded[half + i] = i < samples.count ? samples[i] : 0 }
        for i in 0..<half {
            padded[half - 1 - i] = padded[half + 1 + i]
            padded[half + n + i] = padded[half + n - 2 - i]
        }
        let window = (0..<Self.nFFT).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(Self.nFFT))) }
        let bins = Self.nFFT / 2 + 1
        var power = [Float](repeating: 0, count: frames * bins)  // frames × bins
        let plan = FFTPlan.shared
        let workers = max(1, min(8, frames / 64))
        power.withUnsafeMutableBufferPointer { out in
            let out = out
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let input = fftwf_alloc_real(Self.nFFT)!, output = fftwf_alloc_complex(bins)!
                defer { fftwf_free(input); fftwf_free(output) }
                var f = w
                while f < frames {
                    for j in 0..<Self.nFFT { input[j] = padded[f * Self.hop + j] * window[j] }
                    fftwf_execute_dft_r2c(plan.plan, input, output)
                    for k in 0..<bins {
                        let re = output[k].0, im = output[k].1
                        out[f * bins + k] = re * re + im * im
                    }
                    f += workers
                }
            }
        }
        // mel[m, f] = Σ_k filters[m, k] · power[f, k]
        let nMels = filters.nMels
        var mel = [Float](repeating: 0, count: nMels * frames)
        filters.values.withUnsafeBufferPointer { fb in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(nMels), Int32(frames), Int32(bins), 1,
                        fb.baseAddress, Int32(bins), power, Int32(bins), 0, &mel, Int32(frames))
        }
        var maximum = -Float.infinity
        for i in mel.indices {
            mel[i] = log10f(max(mel[i], 1e-10))
            maximum = max(maximum, mel[i])
        }
        let floor = maximum - 8
        for i in mel.indices { mel[i] = (max(mel[i], floor) + 4) / 4 }
        return mel
    }
}

/// One FFTW plan for the 400-point real FFT, made once (planning is not thread-safe;
/// executing with new arrays is).
final class FFTPlan: @unchecked Sendable {
    static let shared = FFTPlan()
    let plan: fftwf_plan

    private init() {
        let n = LogMelSpectrogram.nFFT
        let input = fftwf_alloc_real(n)!, output = fftwf_alloc_complex(n / 2 + 1)!
        plan = fftwf_plan_dft_r2c_1d(Int32(n), input, output, UInt32(FFTW_ESTIMATE))
        fftwf_free(input)
        fftwf_free(output)
    }
}
