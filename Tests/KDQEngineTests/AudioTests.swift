import CSndFile
import CSoxr
import Foundation
import Testing
@testable import KDQEngine
import KDQFormats

/// Audio in: the four formats, mono mixing, resampling, and bad input.
@Suite struct AudioTests {
    let dir: String = {
        let d = NSTemporaryDirectory() + "kdq-audio-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    /// Writes `channels`-interleaved samples with libsndfile in `format`.
    func write(_ name: String, _ samples: [Float], rate: Int, channels: Int = 1, format: Int32 = Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)) throws -> String {
        let path = dir + "/" + name
        var info = SF_INFO(frames: 0, samplerate: Int32(rate), channels: Int32(channels), format: format, sections: 0, seekable: 0)
        guard let f = sf_open(path, Int32(SFM_WRITE), &info) else { throw EngineError(.audio, "cannot write test audio \(name)") }
        var copy = samples
        sf_writef_float(f, &copy, sf_count_t(samples.count / channels))
        sf_close(f)
        return path
    }

    func sine(_ hz: Double, seconds: Double, rate: Int) -> [Float] {
        (0..<Int(seconds * Double(rate))).map { Float(0.5 * sin(2 * Double.pi * hz * Double($0) / Double(rate))) }
    }

    /// Upward zero crossings per second.
    func frequency(_ x: [Float], rate: Int) -> Double {
        var crossings = 0
        for i in 1..<x.count where x[i - 1] < 0 && x[i] >= 0 { crossings += 1 }
        return Double(crossings) * Double(rate) / Double(x.count)
    }

    @Test(arguments: [("wav", Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)), ("flac", Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_16)),
                      ("ogg", Int32(SF_FORMAT_OGG | SF_FORMAT_VORBIS)), ("mp3", Int32(SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III))])
    func decodesEveryFormat(_ format: (String, Int32)) throws {
        let path = try write("tone.\(format.0)", sine(440, seconds: 1, rate: 16000), rate: 16000, format: format.1)
        let samples = try AudioLoader.load(path)
        #expect(abs(samples.count - 16000) < 2000, "\(format.0): \(samples.count) samples")
        #expect(abs(frequency(samples, rate: 16000) - 440) < 5, "\(format.0)")
    }

    @Test func eightKilohertzIsResampled() throws {
        let samples = try AudioLoader.load(try write("8k.wav", sine(440, seconds: 2, rate: 8000), rate: 8000))
        #expect(abs(samples.count - 32000) <= 2)
        #expect(abs(frequency(samples, rate: 16000) - 440) < 2)
    }

    @Test func stereoIsMixedToMono() throws {
        let left = sine(440, seconds: 1, rate: 16000)
        var interleaved: [Float] = []
        for v in left { interleaved += [v, 0] }
        let samples = try AudioLoader.load(try write("stereo.wav", interleaved, rate: 16000, channels: 2))
        #expect(samples.count == 16000)
        #expect(abs((samples.max() ?? 0) - 0.25) < 0.01, "the mean of the two channels")
    }

    @Test func emptyFileIsAnError() throws {
        FileManager.default.createFile(atPath: dir + "/empty.wav", contents: Data())
        #expect(throws: EngineError.self) { try AudioLoader.load(dir + "/empty.wav") }
    }

    @Test func notAudioIsAnError() throws {
        FileManager.default.createFile(atPath: dir + "/text.wav", contents: Data("this is not audio at all, not even close".utf8))
        do { _ = try AudioLoader.load(dir + "/text.wav"); Issue.record("text decoded as audio") } catch let e as EngineError {
            #expect(e.description.contains("text.wav"))
        }
    }

    @Test func zeroLengthAudioIsAnError() throws {
        let path = try write("zero.wav", [], rate: 16000)
        do { _ = try AudioLoader.load(path); Issue.record("zero-length audio accepted") } catch let e as EngineError {
            #expect(e.message.contains("no samples"))
        }
    }

    // A fuzzing finding: a 3 KB file read as 1,552 samples at 1 Hz took minutes to resample to 16 kHz.
    @Test(arguments: [1, 999, 768_001])
    func aSampleRateOutsideTheAcceptedRangeIsAnError(_ rate: Int) throws {
        let path = try write("rate\(rate).wav", [Float](repeating: 0.1, count: 1_552), rate: rate)
        do { _ = try AudioLoader.load(path); Issue.record("audio at \(rate) Hz accepted") } catch let e as EngineError {
            #expect(e.message.contains("\(rate) Hz") && e.message.contains("1000 to 768000 Hz"), "\(e.message)")
        }
    }

    @Test func theLowestAcceptedRateIsResampled() throws {
        let samples = try AudioLoader.load(try write("rate1000.wav", sine(100, seconds: 1, rate: 1_000), rate: 1_000))
        #expect(abs(samples.count - 16_000) <= 2)
    }

    @Test func truncatedFileDecodesWhatIsThere() throws {
        let path = try write("full.wav", sine(440, seconds: 1, rate: 16000), rate: 16000)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        FileManager.default.createFile(atPath: dir + "/cut.wav", contents: bytes.prefix(bytes.count / 2))
        let samples = try AudioLoader.load(dir + "/cut.wav")
        #expect(samples.count > 7000 && samples.count < 8100)
    }

    /// The streaming resampler gives libsoxr's one-shot samples exactly, for inputs of several
    /// blocks that end mid-block, at the rates people record.
    @Test(arguments: [8000, 22050, 44100, 48000])
    func streamingResamplingEqualsLibsoxrOneShot(rate: Int) throws {
        let input = (0..<(3 * AudioLoader.streamBlock + 4321)).map { Float(0.4 * sin(Double($0) * 0.37) + 0.2 * sin(Double($0) * 0.011)) }
        let streamed = try AudioLoader.resample(input, from: rate, path: "test")
        let expectedLength = Int((Double(input.count) * 16000 / Double(rate)).rounded())
        var oneShot = [Float](repeating: 0, count: expectedLength + 16)
        var produced = 0
        var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
        var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        let error = soxr_oneshot(Double(rate), 16000, 1, input, input.count, nil, &oneShot, oneShot.count, &produced, &io, &quality, nil)
        #expect(error == nil)
        #expect(streamed.count == produced, "streamed \(streamed.count) samples, one-shot \(produced)")
        #expect(abs(streamed.count - expectedLength) <= 1)
        let maxDifference = zip(streamed, oneShot).map { abs($0 - $1) }.max() ?? .infinity
        #expect(maxDifference == 0, "max difference \(maxDifference)")
    }

    @Test func twoHoursLoadAndFitTheWindowPlan() throws {
        let rate = 8000, seconds = 7200
        let path = dir + "/long.wav"
        var info = SF_INFO(frames: 0, samplerate: Int32(rate), channels: 1, format: Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_U8), sections: 0, seekable: 0)
        let f = try #require(sf_open(path, Int32(SFM_WRITE), &info))
        var chunk = [Float](repeating: 0, count: rate * 60)
        for _ in 0..<(seconds / 60) { sf_writef_float(f, &chunk, sf_count_t(chunk.count)) }
        sf_close(f)
        let samples = try AudioLoader.load(path)
        #expect(abs(samples.count - seconds * 16000) <= 4)
        try FileManager.default.removeItem(atPath: path)
    }
}
