import Foundation
import KDQFormats
import KDQJSON
import KDQTensor
import KDQTrain

/// `kdq distill --export-recipe DIR`: the prepared run for an existing trainer — teacher and
/// student initialisation in Hugging Face format, the labelled clips with their split, the
/// objective, schedule, layer maps and QAT encodings (`recipe.json`), kdq's loss on the first
/// batch to check against, and `train_student.py` (transformers + accelerate) that trains the
/// same objective and saves the student for `kdq import`.
public enum RecipeExport {
    /// The QAT encodings train_student.py reproduces (f16 and ggml's 32-value blocks).
    static let recipeEncodings: Set<Encoding> = [.f16, .q8_0, .q5_1, .q5_0, .q4_1, .q4_0]

    /// Writes the recipe of the prepared `job` into `directory` (created; must be empty or absent).
    public static func write(_ job: DistillationJob, to directory: String) throws {
        guard let loop = job.loop else { throw TrainingError("the job has not been prepared") }
        let fm = FileManager.default
        let unsupported = (loop.trainer.fakeQuantization?.plan ?? [:]).filter { !recipeEncodings.contains($0.value) }.sorted { $0.key < $1.key }
        if let (name, e) = unsupported.first {
            throw TrainingError("--export-recipe: the plan gives \(unsupported.count) tensors encodings train_student.py does not reproduce (\(name): \(e.rawValue)); it covers \(recipeEncodings.sorted().map(\.rawValue).joined(separator: ", ")) — plan without the k-quants (kdq quantize --candidates)")
        }
        if loop.studentEncoderCache != nil {
            throw TrainingError("--export-recipe: train_student.py trains the decoder over the teacher's encoder outputs; this student reads its own encoder's (a pretrained student, a plan that quantizes the encoder, or --train-encoder), which the recipe does not reproduce")
        }
        if let existing = try? fm.contentsOfDirectory(atPath: directory), !existing.isEmpty {
            throw TrainingError("--export-recipe \(directory): the directory is not empty")
        }
        do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw TrainingError("cannot create \(directory): \(error.localizedDescription)")
        }
        _ = try ExportTarget.hf.write(job.teacherCheckpoint, to: directory + "/teacher")
        _ = try ExportTarget.hf.write(job.studentCheckpoint, to: directory + "/student")

        // The labelled clips, each with its audio and split.
        // Absolute before standardized: standardizing a relative URL drops its leading "..".
        let audio = Dictionary(uniqueKeysWithValues: job.manifest.clips.map { ($0.id, URL(fileURLWithPath: $0.audio).absoluteURL.standardized.path) })
        var lines = ""
        for (split, ids) in [("train", loop.trainIDs), ("validation", loop.validationIDs)] {
            for id in ids {
                guard let clip = try loop.cache.load(id, encoderValues: loop.encoderValues), let path = audio[id] else {
                    throw TrainingError("clip \(id) is missing from \(loop.cache.directory)")
                }
                let v: JSONValue = .object(["id": .string(id), "audio": .string(path), "split": .string(split),
                                            "prompt_length": .number(clip.promptLength), "tokens": .array(clip.tokens.map { .number($0) })])
                lines += v.serialized(pretty: false) + "\n"
            }
        }
        try writeWhole(Data(lines.utf8), to: directory + "/clips.jsonl")

        let first = loop.order(0).prefix(job.request.settings.batchSize)
        let firstLoss = try loop.loss(of: Array(first))
        let trainer = loop.trainer
        let selection = try LayerSelection.recorded(in: job.studentCheckpoint).map { JSONValue.array($0.decoderLayers.map { .number($0) }) }
        let recipe: JSONValue = .object([
            "format": "kdq-distillation-recipe", "version": 1,
            "teacher": .object(["path": .string(job.teacherCheckpoint.provenance.path), "sha256": .string(job.teacherCheckpoint.provenance.sha256)]),
            "student_decoder_layers": selection ?? .null,
            "hidden_layer_map": layerMapJSON(trainer.layerMap),
            "layer_matching": .string(job.request.settings.dynamicMatching ? "dynamic" : "fixed"),
            "settings": job.request.settings.json,
            "steps_per_epoch": .number(loop.stepsPerEpoch), "total_steps": .number(loop.totalSteps),
            "quantization_aware": .object(JSONObject((trainer.fakeQuantization?.plan ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, .string($0.value.rawValue)) })),
            "language": job.request.options.language.map { .string($0) } ?? .null,
            "first_batch": .object(["clips": .array(first.map { .string($0) }), "loss": LossPoint(step: 0, epoch: 0, loss: firstLoss).json]),
            "order": .array((0..<job.request.settings.epochs).map { .array(loop.order($0).map { .string($0) }) }),
            "quantize_keep": .array(keepRules(job).map { .string($0) }),
        ])
        try writeWhole(Data((recipe.serialized(pretty: true) + "\n").utf8), to: directory + "/recipe.json")
        try writeWhole(Data(trainingScript.utf8), to: directory + "/train_student.py")
    }

    /// `kdq quantize --keep` rules that give the trained student the planned encodings (empty
    /// without a plan).
    static func keepRules(_ job: DistillationJob) -> [String] {
        guard let planned = job.planned else { return [] }
        return planned.tensors.compactMap { name, t in
            job.studentCheckpoint.tensor(named: name)?.encoding == t.encoding ? nil : "\(name)=\(t.encoding.rawValue)"
        }
    }

    /// The script, a resource of this module.
    static var trainingScript: String {
        get throws {
            guard let url = Bundle.module.url(forResource: "train_student", withExtension: "py"),
                  let text = try? String(contentsOf: url, encoding: .utf8) else {
                throw TrainingError("the recipe's training script is missing from kdq's resources (\(Bundle.module.bundlePath))")
            }
            return text
        }
    }
}
