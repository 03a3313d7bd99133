import KDQJSON

/// One utterance transcribed by one model and scored.
public struct UtteranceResult: Sendable {
    public let model: String
    public let id: String
    public let reference: String
    public let hypothesis: String
    /// Word and character edits (on normalized text unless normalization is off).
    public let words: EditCounts
    public let characters: EditCounts
    /// Seconds spent transcribing, and the audio's length.
    public let seconds: Double
    public let audioSeconds: Double

    public init(model: String, id: String, reference: String, hypothesis: String, normalize: Bool,
                seconds: Double, audioSeconds: Double) {
        self.model = model
        self.id = id
        self.reference = reference
        self.hypothesis = hypothesis
        let n = EnglishTextNormalizer()
        let ref = normalize ? n(reference) : reference, hyp = normalize ? n(hypothesis) : hypothesis
        words = EditCounts.words(reference: ref, hypothesis: hyp)
        characters = EditCounts.characters(reference: ref, hypothesis: hyp)
        self.seconds = seconds
        self.audioSeconds = audioSeconds
    }

    /// One line of the `--out` file.
    public var json: JSONValue {
        .object(["model": .string(model), "id": .string(id), "reference": .string(reference), "hypothesis": .string(hypothesis),
                 "word_errors": .number(words.errors), "substitutions": .number(words.substitutions), "deletions": .number(words.deletions),
                 "insertions": .number(words.insertions), "reference_words": .number(words.referenceLength),
                 "char_errors": .number(characters.errors), "reference_chars": .number(characters.referenceLength),
                 "seconds": .number(seconds), "audio_seconds": .number(audioSeconds)])
    }

    /// A line of an `--out` file written earlier (re-scored, so a changed normalizer counts).
    public init?(json v: JSONValue, normalize: Bool) {
        guard let model = v["model"]?.stringValue, let id = v["id"]?.stringValue, let reference = v["reference"]?.stringValue,
              let hypothesis = v["hypothesis"]?.stringValue, let seconds = v["seconds"]?.doubleValue,
              let audio = v["audio_seconds"]?.doubleValue else { return nil }
        self.init(model: model, id: id, reference: reference, hypothesis: hypothesis, normalize: normalize, seconds: seconds, audioSeconds: audio)
    }
}

/// The side-by-side summary of an evaluation.
public struct EvaluationSummary: Sendable {
    public struct ModelRow: Sendable {
        public let model: String
        public let score: CorpusScore
        public let utterances: Int
        /// Processing seconds per second of audio.
        public let realTimeFactor: Double
        public let modelBytes: Int
    }

    public let rows: [ModelRow]
    /// Utterances where the models' word errors differ most (or, for one model, its worst).
    public let disagreements: [(id: String, hypotheses: [(model: String, text: String, errors: Int)], reference: String)]
    /// Each model's mean next-token KL divergence (nats per position) from the first model,
    /// when measured.
    public var meanKL: [String: Double] = [:]

    public init(results: [UtteranceResult], models: [(name: String, bytes: Int)], top: Int = 10) {
        rows = models.map { m in
            let mine = results.filter { $0.model == m.name }
            let seconds = mine.reduce(0) { $0 + $1.seconds }, audio = mine.reduce(0) { $0 + $1.audioSeconds }
            return ModelRow(model: m.name, score: CorpusScore(mine.map { ($0.words, $0.characters) }), utterances: mine.count,
                            realTimeFactor: audio > 0 ? seconds / audio : 0, modelBytes: m.bytes)
        }
        let byID = Dictionary(grouping: results, by: \.id)
        let spread = byID.map { id, rs -> (String, Int, [UtteranceResult]) in
            let errors = rs.map(\.words.errors)
            return (id, models.count > 1 ? (errors.max() ?? 0) - (errors.min() ?? 0) : (errors.max() ?? 0), rs)
        }.filter { $0.1 > 0 }.sorted { ($0.1, $1.0) > ($1.1, $0.0) }
        disagreements = spread.prefix(top).map { id, _, rs in
            (id, rs.sorted { $0.model < $1.model }.map { ($0.model, $0.hypothesis, $0.words.errors) }, rs.first?.reference ?? "")
        }
    }

    public var json: JSONValue {
        .object([
            "models": .array(rows.map { r in
                .object(["model": .string(r.model), "utterances": .number(r.utterances), "wer": .number(100 * r.score.wer),
                         "cer": .number(100 * r.score.cer), "substitutions": .number(r.score.words.substitutions),
                         "deletions": .number(r.score.words.deletions), "insertions": .number(r.score.words.insertions),
                         "wer_ci95": .array([.number(100 * r.score.werInterval.low), .number(100 * r.score.werInterval.high)]),
                         "real_time_factor": .number(r.realTimeFactor), "model_bytes": .number(r.modelBytes),
                         "mean_kl": meanKL[r.model].map { .number($0) } ?? .null])
            }),
            "disagreements": .array(disagreements.map { d in
                .object(["id": .string(d.id), "reference": .string(d.reference),
                         "hypotheses": .array(d.hypotheses.map { .object(["model": .string($0.model), "text": .string($0.text), "word_errors": .number($0.errors)]) })])
            }),
        ])
    }
}
