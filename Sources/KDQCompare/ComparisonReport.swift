import KDQAnalysis
import KDQJSON

/// What `ModelComparison` measured: the two models, their transcripts' errors, next-token
/// agreement, per-block hidden-state errors, and the tensors they share. Its JSON form is
/// described by formats/compare.schema.json.
public struct ComparisonReport: Sendable {
    /// One of the two models.
    public struct Model: Sendable {
        public let path: String
        public let sha256: String
        public let encoderLayers: Int, decoderLayers: Int
        public let tensorBytes: Int
        /// Word and character edits of its transcripts against the manifest's text (nil without text).
        public let words: EditCounts?, characters: EditCounts?
    }

    /// A position of largest KL with the tokens' text.
    public struct Stray: Sendable {
        public let position: TokenAgreement.Position
        public let expected: String, teacherTop: String, studentTop: String
    }

    /// The tensors the two share (student blocks under the names of the teacher blocks they
    /// were copied from).
    public struct Tensors: Sendable {
        public let diff: CheckpointDiff
        /// The student's name of each compared tensor whose name differs from the teacher's.
        public let studentNames: [String: String]
    }

    public let teacher: Model, student: Model
    /// Clips transcribed, and those (at most 30 s) also teacher-forced through both models.
    public let clips: Int, scoredClips: Int
    public let tokens: TokenAgreement
    public let strays: [Stray]
    /// Per encoder and decoder block (nil when the widths differ).
    public let encoder: [LayerAlignment.Match]?, decoder: [LayerAlignment.Match]?
    public let tensors: Tensors

    /// The report's JSON form (formats/compare.schema.json).
    public var json: JSONValue {
        func model(_ m: Model) -> JSONValue {
            .object(["path": .string(m.path), "sha256": .string(m.sha256), "encoder_layers": .number(m.encoderLayers),
                     "decoder_layers": .number(m.decoderLayers), "tensor_bytes": .number(m.tensorBytes),
                     "wer": m.words.map { .number($0.rate) } ?? .null, "cer": m.characters.map { .number($0.rate) } ?? .null,
                     "word_errors": m.words.map { .number($0.errors) } ?? .null, "reference_words": m.words.map { .number($0.referenceLength) } ?? .null])
        }
        func layers(_ matches: [LayerAlignment.Match]?) -> JSONValue {
            guard let matches else { return .null }
            return .array(matches.map {
                .object(["student": .number($0.student), "teacher": .number($0.teacher), "source": .string($0.source.rawValue),
                         "relative_error": finite($0.metrics.relativeError), "cosine": finite($0.metrics.cosine),
                         "attention_divergence": $0.attentionDivergence.map(finite) ?? .null])
            })
        }
        let diff = tensors.diff
        let worst = diff.tensors.filter { $0.metrics != nil }.sorted { $0.metrics!.relativeError > $1.metrics!.relativeError }.prefix(10)
        return .object([
            "format": "kdq-compare", "version": 1,
            "teacher": model(teacher), "student": model(student),
            "clips": .number(clips), "scored_clips": .number(scoredClips),
            "tokens": .object([
                "mean_kl": .number(tokens.meanKL), "positions": .number(tokens.rows),
                "transcript_kl": .number(tokens.transcriptKL), "transcript_positions": .number(tokens.predicted),
                "top1_agreement": .number(tokens.top1Agreement),
                "kl_by_position": .array(tokens.byIndex.enumerated().map {
                    .object(["index": .number($0.offset), "mean_kl": .number($0.element.count == 0 ? 0 : $0.element.kl / Double($0.element.count)),
                             "count": .number($0.element.count)])
                }),
                "largest_kl": .array(strays.map {
                    .object(["clip": .string($0.position.clip), "index": .number($0.position.index), "kl": .number($0.position.kl),
                             "expected": .string($0.expected), "teacher_top": .string($0.teacherTop), "student_top": .string($0.studentTop)])
                }),
            ]),
            "encoder_layers": layers(encoder), "decoder_layers": layers(decoder),
            "tensors": .object([
                "compared": .number(diff.tensors.count),
                "identical": .number(diff.tensors.filter { $0.metrics?.isExact == true }.count),
                "relative_error": finite(diff.overall.relativeError),
                "only_in_teacher": .number(diff.onlyInA.count), "only_in_student": .number(diff.onlyInB.count),
                "worst": .array(worst.map {
                    .object(["name": .string($0.name), "student_name": .string(tensors.studentNames[$0.name] ?? $0.name),
                             "encoding_teacher": .string($0.encodingA.rawValue), "encoding_student": .string($0.encodingB.rawValue),
                             "relative_error": finite($0.metrics!.relativeError)])
                }),
            ]),
        ])
    }

    /// A number, or null when it is not finite.
    func finite(_ x: Double) -> JSONValue { x.isFinite ? .number(x) : .null }
}
