import ArgumentParser
import KDQDistill
import KDQEngine
import KDQFormats
import KDQJSON

/// `kdq student TEACHER -o S.kdq --decoder-layers D`: a layer-pruned copy of the teacher.
struct StudentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "student",
        abstract: "Make a layer-pruned student of a Whisper model: which decoder blocks it keeps is measured, even, or given.",
        discussion: """
            --select measured (the default) transcribes the calibration clips with the teacher, then \
            scores every choice of blocks (or, past 64 choices, removes blocks one at a time, each \
            time the one whose removal raises the KL least) by the mean next-token KL from the \
            teacher, keeping the lowest (every candidate's KL and last-hidden-state error is \
            recorded); even keeps the first, the last and evenly spaced blocks between \
            (distil-whisper's choice); a list such as 0,5 is taken as given. --encoder-layers keeps \
            that many encoder blocks, evenly spaced. Tensors keep their encodings; the archive records \
            the choice (compression.layer_map, `kdq inspect --json`). --student MODEL instead takes a \
            pretrained Whisper as the student (it must have the teacher's vocabulary: an English-only \
            and a multilingual model are refused); `kdq distill` then trains its decoder on its own \
            frozen encoder's outputs against the teacher's. --keep-tokens-of WORDS (repeatable, one \
            word per line, e.g. /usr/share/dict/american-english) trims the vocabulary to the tokens \
            needed to write those words (as listed, lower-case and capitalized, with and without a \
            leading space), single bytes, ASCII tokens without letters, and the special and \
            timestamp tokens: the token embedding keeps only their rows (compression.vocabulary); \
            such a model cannot be exported to other formats.
            """
    )

    @Argument(help: "Teacher checkpoint (any supported format, or a .kdq).")
    var teacher: String

    @Option(name: .shortAndLong, help: "Archive to write.")
    var output: String

    @Option(help: "Decoder blocks the student keeps.")
    var decoderLayers: Int?

    @Option(help: "A pretrained Whisper with the teacher's vocabulary to start from instead of the teacher's blocks.")
    var student: String?

    @Option(help: "Encoder blocks the student keeps, evenly spaced (default: all).")
    var encoderLayers: Int?

    @Option(help: "measured, even, or a comma-separated list of teacher blocks (e.g. 0,5).")
    var select: String = "measured"

    @Option(help: "Calibration manifest for --select measured (JSON Lines or TSV, as kdq eval).")
    var calibration: String?

    @Option(help: "Calibration clips: N spread evenly over the manifest.")
    var calibrationCount: Int = 16

    @Option(help: "Language code for the teacher's transcripts (multilingual models).")
    var language: String?

    @OptionGroup var trimming: TokenTrimmingOptions

    @OptionGroup var outputOptions: OutputOptions

    /// `model` trimmed to the word lists' tokens when --keep-tokens-of was given.
    private func trimmed(_ model: Checkpoint) throws -> (Checkpoint, VocabularyTrimming.Record?) {
        guard !trimming.keepTokensOf.isEmpty else { return (model, nil) }
        let (trimmed, record) = try VocabularyTrimming.trim(model, wordLists: trimming.keepTokensOf)
        return (trimmed, record)
    }

    func validate() throws {
        guard let choice = StudentBuilder.Choice(argument: select) else {
            throw ValidationError("--select takes measured, even or a comma-separated list of layers, not '\(select)'")
        }
        if student != nil {
            guard decoderLayers == nil, encoderLayers == nil else { throw ValidationError("--student takes a whole model: give it or --decoder-layers, not both") }
            return
        }
        guard let decoderLayers else { throw ValidationError("give --decoder-layers D (a pruned copy of the teacher) or --student MODEL") }
        guard decoderLayers >= 1 else { throw ValidationError("--decoder-layers must be at least 1") }
        if let encoderLayers, encoderLayers < 1 { throw ValidationError("--encoder-layers must be at least 1") }
        if choice == .measured, calibration == nil { throw ValidationError("--select measured needs --calibration MANIFEST") }
        guard calibrationCount >= 1 else { throw ValidationError("--calibration-count must be at least 1") }
    }

    func run() throws {
        let source = try Checkpoint.open(teacher)
        if let student {
            let (made, vocabulary) = try trimmed(try PretrainedStudent.make(try Checkpoint.open(student), teacher: source))
            try KDQArchiveWriter.write(made, to: output, options: KDQWriteOptions(command: CommandLine.arguments.joined(separator: " ")))
            if outputOptions.json {
                outputOptions.emit(.object(["output": .string(output), "pretrained": .string(student), "vocabulary": vocabulary?.json ?? .null,
                                            "parameters": .number(Double(made.parameterCount)), "tensor_bytes": .number(Double(made.tensorBytes))]))
            } else {
                print("\(output): \(student) as a student of \(teacher) (\(made.dims.nAudioLayer) encoder + \(made.dims.nTextLayer) decoder blocks, \(Format.bytes(made.tensorBytes)) of tensor data)")
            }
            return
        }
        let decoderLayers = decoderLayers ?? 0
        let choice = StudentBuilder.Choice(argument: select)!
        var clips: [TaughtClip] = []
        if choice == .measured, let calibration {
            var options = DecodingOptions()
            options.language = language
            clips = try StudentBuilder.calibrationClips(try WhisperModel(source), manifest: calibration, count: calibrationCount, options: options)
        }
        let progress = TerminalProgress("select")
        let (pruned, selection) = try StudentBuilder.build(source, decoderLayers: decoderLayers, encoderLayers: encoderLayers, choice: choice,
                                                           clips: clips) { progress.update($0, $1) }
        progress.finish()
        let (student, vocabulary) = try trimmed(pruned)
        try KDQArchiveWriter.write(student, to: output, options: KDQWriteOptions(command: CommandLine.arguments.joined(separator: " ")))
        if outputOptions.json {
            outputOptions.emit(.object(["output": .string(output), "selection": selection.json, "vocabulary": vocabulary?.json ?? .null,
                                        "parameters": .number(Double(student.parameterCount)), "tensor_bytes": .number(Double(student.tensorBytes))]))
            return
        }
        print("\(output): decoder blocks \(selection.decoderLayers.map(String.init).joined(separator: ",")) of \(selection.teacherDecoderLayers) (\(selection.method.rawValue))"
              + (selection.encoderLayers.map { ", encoder blocks \($0.map(String.init).joined(separator: ","))" } ?? "")
              + (vocabulary.map { ", \($0.keptTokens) of \($0.vocabularySize) tokens" } ?? "")
              + ", \(Format.bytes(student.tensorBytes)) of tensor data")
        if !selection.candidates.isEmpty {
            print("candidates (KL from the teacher over \(selection.positions) positions, last-hidden error):")
            for c in selection.candidates {
                print("  \(c.decoderLayers.map(String.init).joined(separator: ",")): KL \(Format.fixed(c.kl, 4))  hidden \(Format.fixed(c.hiddenError, 4))")
            }
        }
    }
}
