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
        let frames = (samples.count + padding) / Self.hop
        var mel = log10Mel(samples, padding: padding, frames: 0..<frames)
        normalize(&mel, floor: (mel.max() ?? 0) - 8)
        return mel
    }

    /// log10 of the clamped mel energies of `frames` (a range of the whole signal's frames),
    /// as `nMels × frames.count`: the part of the spectrogram that does not depend on the
    /// global maximum, so that long audio can be processed a window at a time.
    public func log10Mel(_ samples: [Float], padding: Int, frames: Range<Int>) -> [Float] {
        let total = samples.count + padding
        let count = frames.count
        guard count > 0 else { return [] }
        let half = Self.nFFT / 2
        // The centered, reflect-padded signal (torch.stft(center=True)) at index i − half.
        @inline(__always) func sample(_ i: Int) -> Float {
            var j = i - half
            if j < 0 { j = -j }
            if j >= total { j = 2 * (total - 1) - j }
            return j >= 0 && j < samples.count ? samples[j] : 0
        }
        let window = Self.window
        let bins = Self.nFFT / 2 + 1
        var power = [Float](repeating: 0, count: count * bins)
        let plan = FFTPlan.shared
        let workers = max(1, min(8, count / 64))
        power.withUnsafeMutableBufferPointer { out in
            let out = out
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let input = fftwf_alloc_real(Self.nFFT)!, output = fftwf_alloc_complex(bins)!
                defer { fftwf_free(input); fftwf_free(output) }
                var f = w
                while f < count {
                    let start = (frames.lowerBound + f) * Self.hop
                    for j in 0..<Self.nFFT { input[j] = sample(start + j) * window[j] }
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
        var mel = [Float](repeating: 0, count: nMels * count)
        filters.values.withUnsafeBufferPointer { fb in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(nMels), Int32(count), Int32(bins), 1,
                        fb.baseAddress, Int32(bins), power, Int32(bins), 0, &mel, Int32(count))
        }
        for i in mel.indices { mel[i] = log10f(max(mel[i], 1e-10)) }
        return mel
    }

    /// Floors log10 energies at `floor` (the global maximum − 8) and scales them: (x + 4) / 4.
    public func normalize(_ mel: inout [Float], floor: Float) {
        for i in mel.indices { mel[i] = (max(mel[i], floor) + 4) / 4 }
    }

    /// The periodic Hann window.
    static let window: [Float] = (0..<nFFT).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(nFFT))) }
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
