import KDQFormats
import KDQJSON
import KDQTrain

/// A student that starts from a pretrained Whisper of its own (`kdq student --student MODEL`)
/// instead of the teacher's blocks: it must share the teacher's vocabulary (the KL compares
/// next-token distributions), and is recorded as what it is (`compression.layer_map`, kind
/// `pretrained_student`). Its encoder stays frozen; its decoder trains on that encoder's outputs.
public enum PretrainedStudent {
    /// `model` as the student of `teacher`, with the record.
    public static func make(_ model: Checkpoint, teacher: Checkpoint) throws -> Checkpoint {
        try checkVocabulary(model, teacher: teacher)
        var student = model
        var manifest = model.archiveManifest ?? JSONObject()
        var compression = manifest["compression"]?.objectValue ?? JSONObject()
        compression["layer_map"] = record(model, teacher: teacher)
        for key in ["encodings", "error_profiles", "evaluation"] where compression[key] == nil { compression[key] = .null }
        manifest["compression"] = .object(compression)
        student.archiveManifest = manifest
        return student
    }

    /// The record: both models and their shapes.
    static func record(_ model: Checkpoint, teacher: Checkpoint) -> JSONValue {
        func describe(_ c: Checkpoint) -> JSONValue {
            .object(["path": .string(c.provenance.path), "sha256": .string(c.provenance.sha256),
                     "encoder_layers": .number(c.dims.nAudioLayer), "decoder_layers": .number(c.dims.nTextLayer),
                     "audio_width": .number(c.dims.nAudioState), "text_width": .number(c.dims.nTextState)])
        }
        return .object(["kind": "pretrained_student", "teacher": describe(teacher), "student": describe(model)])
    }

    /// Same vocabulary size and special tokens; else an error naming both.
    public static func checkVocabulary(_ student: Checkpoint, teacher: Checkpoint) throws {
        let s = student.dims.nVocab, t = teacher.dims.nVocab
        guard s == t, student.tokenizer.specialTokens == teacher.tokenizer.specialTokens else {
            func kind(_ n: Int) -> String { n >= 51865 ? "multilingual" : "English-only" }
            throw TrainingError("the student's tokenizer (\(s) tokens, \(kind(s)), \(student.tokenizer.specialTokens.count) special) is not the teacher's (\(t) tokens, \(kind(t)), \(teacher.tokenizer.specialTokens.count) special): an English-only and a multilingual Whisper cannot be distilled into each other")
        }
    }
}
