import ArgumentParser
import CBLAS
import KDQEngine
import KDQFormats
import KDQJSON
#if canImport(Glibc)
import Glibc
#endif

/// `kdq transcribe MODEL AUDIO…`.
struct TranscribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcribe",
        abstract: "Transcribe audio with any readable Whisper checkpoint or .kdq archive.",
        discussion: """
            Audio: WAV, FLAC, OGG or MP3 (anything libsndfile reads), mixed to mono and resampled to \
            16 kHz. Longer audio is transcribed window after window (30 s each). Decoding follows \
            openai-whisper at temperature 0: greedy or --beam N, its suppression rules, optional timestamps.
            """
    )

    @Argument(help: "Model: a checkpoint file or directory, or a .kdq archive.")
    var model: String

    @Argument(help: "Audio files.")
    var audio: [String]

    @Option(help: "Language code of the speech (multilingual models; default en).")
    var language: String?

    @Option(help: "transcribe or translate (to English).")
    var task: WhisperTask = .transcribe

    @Option(help: "Beam size; 1 decodes greedily.")
    var beam: Int = 1

    @Flag(help: "Predict segment timestamps.")
    var timestamps = false

    @Option(help: "Threads for the matrix products (default: all cores).")
    var threads: Int?

    @OptionGroup var vocabularyOption: VocabularyOption
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard beam >= 1 && beam <= 16 else { throw ValidationError("--beam must be between 1 and 16") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        if let threads { openblas_set_num_threads(Int32(threads)) }
        let clock = Stopwatch()
        let whisper = try WhisperModel(try vocabularyOption.open(model))
        let loadSeconds = clock.lap()
        var options = DecodingOptions()
        options.language = language
        options.task = task
        options.beamSize = beam
        options.timestamps = timestamps
        let transcriber = Transcriber(model: whisper, options: options)
        var results: [JSONValue] = []
        var failures = 0
        for path in audio {
            do {
                let samples = try AudioLoader.load(path)
                let t = try transcriber.transcribe(samples)
                if output.json {
                    results.append(json(path, t))
                } else if audio.count > 1 {
                    print("\(path): \(t.text)")
                } else if timestamps {
                    for s in t.segments { print("[\(Format.fixed(s.start, 2)) --> \(Format.fixed(s.end, 2))] \(s.text.trimmingSpaces())") }
                } else {
                    print(t.text)
                }
            } catch {
                failures += 1
                printError("\(error)")
                if output.json { results.append(.object(["audio": .string(path), "error": .string("\(error)")])) }
            }
        }
        if output.json {
            output.emit(.object(["model": .string(model), "load_seconds": .number(loadSeconds),
                                 "peak_resident_bytes": .number(PeakMemory.bytes), "kernels": EngineKernels.current.json,
                                 "results": .array(results)]))
        }
        if failures > 0 { throw ExitCode(1) }
    }

    private func json(_ path: String, _ t: Transcript) -> JSONValue {
        return .object([
            "audio": .string(path), "text": .string(t.text), "duration": .number(t.duration),
            "segments": .array(t.segments.map { .object(["start": .number($0.start), "end": .number($0.end), "text": .string($0.text), "tokens": .ints($0.tokens)]) }),
            "timings": .object(["mel": .number(t.melSeconds), "encode": .number(t.encodeSeconds), "decode": .number(t.decodeSeconds)]),
        ])
    }
}

extension WhisperTask: ExpressibleByArgument {}


/// Writes a line to standard error.
func printError(_ message: String) {
    fputs("error: \(message)\n", stderr)
}
