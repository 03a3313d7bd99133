import Foundation
import KDQAnalysis
import KDQDistill
import KDQEngine
import KDQFormats
import KDQQuantize
import KDQTensor

/// `kdq compare`'s pipeline: a teacher and a student (a distilled or pruned student, a
/// quantization, another export of the same model) run on the same clips. Each model transcribes
/// every clip (scored against the manifest's text when it has one); on clips of at most 30 s the
/// teacher's transcript is teacher-forced through both, each on its own encoder output (as
/// `kdq eval --kl` does), for the next-token KL and agreement and every block's residual stream.
public final class ModelComparison {
    /// What the caller chose.
    public struct Request {
        public var teacher: String
        public var student: String
        /// JSON Lines with id, audio and optionally text.
        public var manifest: String
        /// Clips spread over the manifest (nil: all).
        public var limit: Int?
        public var options = DecodingOptions()

        public init(teacher: String, student: String, manifest: String) {
            self.teacher = teacher
            self.student = student
            self.manifest = manifest
        }
    }

    public let request: Request

    public init(_ request: Request) { self.request = request }

    /// Runs both models on the clips; `progress` gets clips done and the total.
    public func run(progress: (Int, Int) -> Void = { _, _ in }) throws -> ComparisonReport {
        let r = request
        let teacherCheckpoint = try Checkpoint.open(r.teacher), studentCheckpoint = try Checkpoint.open(r.student)
        let t = teacherCheckpoint.dims, s = studentCheckpoint.dims
        guard t.nVocab == s.nVocab else {
            throw QuantizeError("the student's vocabulary (\(s.nVocab) tokens) is not the teacher's (\(t.nVocab)): next-token distributions cannot be compared")
        }
        let teacher = try WhisperModel(teacherCheckpoint), student = try WhisperModel(studentCheckpoint)
        let manifest = try ClipManifest(path: r.manifest)
        let clips = r.limit.map { manifest.spread($0) } ?? manifest.clips
        let selection = try LayerSelection.recorded(in: studentCheckpoint)
        let recordedDecoder = selection?.teacherDecoderLayers == t.nTextLayer ? selection?.decoderLayers : nil
        var encoder = t.nAudioState == s.nAudioState
            ? LayerAlignment(studentLayers: s.nAudioLayer, teacherLayers: t.nAudioLayer, recorded: selection?.encoderLayers) : nil
        var decoder = t.nTextState == s.nTextState
            ? LayerAlignment(studentLayers: s.nTextLayer, teacherLayers: t.nTextLayer, recorded: recordedDecoder) : nil
        var tokens = TokenAgreement()
        let teacherTranscriber = Transcriber(model: teacher, options: r.options), studentTranscriber = Transcriber(model: student, options: r.options)
        var words: (teacher: EditCounts, student: EditCounts) = (EditCounts(), EditCounts())
        var characters: (teacher: EditCounts, student: EditCounts) = (EditCounts(), EditCounts())
        var withText = 0, scored = 0
        let prompt = try teacher.teacherSequence(text: "", options: r.options).count - 1
        let normalize = EnglishTextNormalizer()
        for (n, clip) in clips.enumerated() {
            progress(n, clips.count)
            let samples = try AudioLoader.load(clip.audio)
            let teacherText = try teacherTranscriber.transcribe(samples).text
            let studentText = try studentTranscriber.transcribe(samples).text
            if let text = clip.text {
                withText += 1
                let reference = normalize(text)
                words.teacher = words.teacher + EditCounts.words(reference: reference, hypothesis: normalize(teacherText))
                words.student = words.student + EditCounts.words(reference: reference, hypothesis: normalize(studentText))
                characters.teacher = characters.teacher + EditCounts.characters(reference: reference, hypothesis: normalize(teacherText))
                characters.student = characters.student + EditCounts.characters(reference: reference, hypothesis: normalize(studentText))
            }
            guard samples.count <= LogMelSpectrogram.windowSamples else { continue }
            scored += 1
            // Forced through both up to the first token a trimmed student lacks.
            let sequence = student.decoder.forciblePrefix(of: try teacher.teacherSequence(text: teacherText, options: r.options))
            let tf = try teacher.forward(mel: teacherTranscriber.melSegment(samples, seek: 0), tokens: sequence, keepCrossAttention: true)
            let sf = try student.forward(mel: studentTranscriber.melSegment(samples, seek: 0), tokens: sequence, keepCrossAttention: true)
            tokens.add(clip: clip.id, tokens: sequence, promptLength: prompt, teacherLogP: LogitDivergence.logSoftmax(tf.logits, vocab: t.nVocab),
                       studentLogits: sf.logits, vocab: t.nVocab)
            encoder?.add(student: sf.encoderHidden, teacher: tf.encoderHidden)
            decoder?.add(student: sf.decoderHidden, teacher: tf.decoderHidden)
            decoder?.addCrossAttention(student: sf.crossAttention, teacher: tf.crossAttention, frames: t.nAudioCtx, from: max(0, prompt - 1))
        }
        progress(clips.count, clips.count)

        let tokenizer = try teacher.tokenizer()
        func text(_ token: Int) -> String { tokenizer.label(token) }
        let strays = tokens.largest.map {
            ComparisonReport.Stray(position: $0, expected: text($0.expected), teacherTop: text($0.teacherTop), studentTop: text($0.studentTop))
        }
        func side(_ c: Checkpoint, _ w: EditCounts, _ ch: EditCounts) -> ComparisonReport.Model {
            ComparisonReport.Model(path: c.provenance.path, sha256: c.provenance.sha256, encoderLayers: c.dims.nAudioLayer,
                                   decoderLayers: c.dims.nTextLayer, tensorBytes: c.tensorBytes,
                                   words: withText > 0 ? w : nil, characters: withText > 0 ? ch : nil)
        }
        return ComparisonReport(teacher: side(teacherCheckpoint, words.teacher, characters.teacher),
                                student: side(studentCheckpoint, words.student, characters.student),
                                clips: clips.count, scoredClips: scored, tokens: tokens, strays: strays,
                                encoder: encoder?.matches, decoder: decoder?.matches,
                                tensors: try sharedTensors(teacherCheckpoint, studentCheckpoint, decoder: decoder?.matches ?? [], encoder: encoder?.matches ?? []))
    }

    /// The diff of the tensors the two share, each student block under the name of the teacher
    /// block it is compared with.
    func sharedTensors(_ teacher: Checkpoint, _ student: Checkpoint, decoder: [LayerAlignment.Match],
                       encoder: [LayerAlignment.Match]) throws -> ComparisonReport.Tensors {
        var names: [String: String] = [:]
        let renamed = student.tensors.map { name, tensor -> (name: String, tensor: Tensor) in
            let teacherName = Self.teacherName(name, decoder: decoder, encoder: encoder)
            if teacherName != name { names[teacherName] = name }
            return (teacherName, tensor)
        }
        return ComparisonReport.Tensors(diff: try CheckpointDiff(tensors: teacher.tensors, renamed), studentNames: names)
    }

    /// `decoder.blocks.S.rest` (or `encoder.blocks.S.rest`) under the teacher block S is compared with.
    static func teacherName(_ name: String, decoder: [LayerAlignment.Match], encoder: [LayerAlignment.Match]) -> String {
        guard let block = BlockTensorName(name) else { return name }
        let matches = block.stack == .decoder ? decoder : encoder
        return block.index < matches.count ? block.renumbered(matches[block.index].teacher).name : name
    }
}
