import Foundation
import KDQAnalysis
import KDQEngine
import KDQFormats
import KDQJSON
import KDQTensor
import KDQTrain

/// `kdq distill`'s pipeline: check that student and teacher fit together, label and encode the
/// data into the work directory, hold back a validation slice, train, and make the student
/// checkpoint (in the student's own encodings) with the record of how it was made.
public final class DistillationJob {
    /// What the caller chose.
    public struct Request {
        public var teacher: String
        public var student: String
        public var data: String
        public var workDirectory: String
        /// Which clips of the data, the validation slice, the label filter and the cache.
        public var clips = ClipSelection()
        public var settings = DistillationSettings()
        public var options = DecodingOptions()
        /// A quantized archive of the student whose encodings it trains through (QAT) and is written in.
        public var plan: String?
        /// Measure the student's WER on the validation clips after every epoch (against their labels).
        public var validationWER = true

        public init(teacher: String, student: String, data: String, workDirectory: String) {
            self.teacher = teacher
            self.student = student
            self.data = data
            self.workDirectory = workDirectory
        }
    }

    public let request: Request
    public let teacherCheckpoint: Checkpoint
    public let studentCheckpoint: Checkpoint
    public let manifest: ClipManifest
    public private(set) var loop: DistillationLoop?
    public private(set) var dropped: [ClipLabeller.Drop] = []
    public private(set) var layerMap: [Int: Int] = [:]
    var selection: JSONValue = .null
    /// The quantized student (`request.plan`, or given) whose encodings the student trains through.
    var planned: Checkpoint?
    /// How the planned tensors are encoded in training and for the archive.
    let encode: FakeQuantization.Encode

    /// Opens the request's models, or takes them as given (`teacher`, `student`, and the
    /// quantized student `planned` to train through, made in memory by `kdq compress`, whose
    /// quantizer `encode` then re-encodes the tensors as they train — whisper.cpp's
    /// round-to-nearest when not given).
    public init(_ request: Request, teacher: Checkpoint? = nil, student: Checkpoint? = nil, planned: Checkpoint? = nil,
                encode: @escaping FakeQuantization.Encode = FakeQuantization.nearest) throws {
        self.request = request
        teacherCheckpoint = try teacher ?? Checkpoint.open(request.teacher)
        studentCheckpoint = try student ?? Checkpoint.open(request.student)
        self.planned = planned
        self.encode = encode
        manifest = try ClipManifest(path: request.data)
        try Self.checkCompatible(teacher: teacherCheckpoint, student: studentCheckpoint)
    }

    /// Same vocabulary and special tokens (the KL compares next-token distributions). The
    /// encoders stay frozen: when the student's is not the teacher's, its own outputs are cached
    /// for its decoder (`StudentEncoderOutputs`).
    static func checkCompatible(teacher: Checkpoint, student: Checkpoint) throws {
        try PretrainedStudent.checkVocabulary(student, teacher: teacher)
    }

    /// Labels and encodes what the work directory lacks; `progress` gets clips done, and
    /// `encoding` the clips the student's own encoder (pretrained, or the plan's) has encoded.
    public func prepare(progress: (Int, Int) -> Void = { _, _ in }, encoding: (Int, Int) -> Void = { _, _ in }) throws {
        do { try FileManager.default.createDirectory(atPath: request.workDirectory, withIntermediateDirectories: true) } catch {
            throw TrainingError("cannot create the work directory \(request.workDirectory): \(error.localizedDescription)")
        }
        let cache = try ClipCache(directory: request.clips.cache ?? request.workDirectory + "/clips")
        let clips = request.clips.limit.map { manifest.spread($0) } ?? manifest.clips
        let teacherModel = try WhisperModel(teacherCheckpoint)
        var labeller = ClipLabeller(teacher: teacherModel, options: request.options, cache: cache)
        labeller.maxReferenceWER = request.clips.maxReferenceWER
        let (kept, dropped) = try labeller.prepare(clips, progress: progress)
        self.dropped = dropped
        guard kept.count > request.clips.validationClips else {
            throw TrainingError("\(kept.count) usable clips cannot spare \(request.clips.validationClips) for validation")
        }
        // Validation: every (n / v)-th usable clip, so it spans the data.
        let stride = kept.count / max(1, request.clips.validationClips)
        let validation = request.clips.validationClips == 0 ? [] : (0..<request.clips.validationClips).map { kept[$0 * stride] }
        let held = Set(validation)
        let train = kept.filter { !held.contains($0) }

        let recorded = try LayerSelection.recorded(in: studentCheckpoint)
        selection = recorded?.json ?? .null
        let teacherLayers = try recorded?.decoderLayers ?? LayerSelection.even(studentCheckpoint.dims.nTextLayer, of: teacherCheckpoint.dims.nTextLayer)
        layerMap = request.settings.objective.beta > 0 ? Dictionary(uniqueKeysWithValues: teacherLayers.enumerated().map { ($0, $1) }) : [:]
        if request.settings.objective.beta > 0, studentCheckpoint.dims.nTextState != teacherCheckpoint.dims.nTextState {
            throw TrainingError("the hidden-state term (--beta) compares residual streams of one width; the student's is \(studentCheckpoint.dims.nTextState), the teacher's \(teacherCheckpoint.dims.nTextState): use --beta 0")
        }
        let embeddings = request.settings.trainEmbeddings, encoder = request.settings.trainEncoder
        if let plan = request.plan { planned = try Checkpoint.open(plan) }
        if encoder { try Self.checkEncoderTrains(student: studentCheckpoint.dims, teacher: teacherCheckpoint.dims) }
        // A trained encoder runs in every step: its frozen tensors start from the plan's values.
        let source = encoder ? try Self.frozenEncoderAsPlanned(studentCheckpoint, planned) : studentCheckpoint
        let student = try ParameterStore(source) { name in
            name.hasPrefix("decoder.blocks.") || name.hasPrefix("decoder.ln.")
                || (embeddings && (name == "decoder.token_embedding.weight" || name == "decoder.positional_embedding"))
                || (encoder && Self.isTrainableEncoderTensor(name))
        }
        let teacher = try ParameterStore(dims: teacherCheckpoint.dims, tensors: teacherCheckpoint.tensors.filter { $0.name.hasPrefix("decoder.") }) { _ in false }
        let s = request.settings
        let trainer = try DistillationTrainer(student: student, teacher: teacher, objective: s.objective, layerMap: layerMap,
                                              optimizer: AdamW(weightDecay: s.weightDecay), maxGradientNorm: s.maxGradientNorm)
        trainer.dynamicMatching = s.dynamicMatching
        // What the student's decoder reads: its planned (quantized) encoder, or its own.
        let encoderSource = planned ?? studentCheckpoint
        let ownEncoder = StudentEncoderOutputs.differs(encoderSource, from: teacherCheckpoint)
        if let planned {
            let encodings = try Self.encodings(planned, for: studentCheckpoint, path: request.plan ?? "the plan",
                                               encoderChanges: StudentEncoderOutputs.differs(planned, from: studentCheckpoint),
                                               encoderTrains: encoder)
            try trainer.quantizationAware(encodings.isEmpty ? nil : encodings, encode: encode)
        }
        let loop = try DistillationLoop(trainer: trainer, settings: s, cache: cache, train: train, validation: validation,
                                        padding: try teacherModel.tokenizer().endOfText,
                                        checkpointPath: request.workDirectory + "/training.checkpoint")
        if encoder {
            // The student encodes each clip's window in every step; the frozen convolutions,
            // positions and any untrained tensor read the plan's bytes as the rest do.
            let audio = Dictionary(uniqueKeysWithValues: manifest.clips.map { ($0.id, $0.audio) })
            let model = teacherModel, data = request.data
            loop.melWindow = { id in
                guard let path = audio[id] else { throw TrainingError("clip \(id) is not in \(data)") }
                return try model.melWindow(ofFile: path)
            }
        } else if ownEncoder {
            let own = try ClipCache(directory: StudentEncoderOutputs.directory(encoderSource, under: request.workDirectory))
            try StudentEncoderOutputs.prepare(train + validation, manifest: manifest, model: try WhisperModel(encoderSource), labels: cache,
                                              labelValues: loop.encoderValues, into: own, progress: encoding)
            loop.studentEncoderCache = own
        }
        self.loop = loop
        if request.validationWER {
            let tokenizer = try teacherModel.tokenizer()
            loop.validationWordErrors = { [unowned self] clips in try self.wordErrorRate(clips, tokenizer: tokenizer) }
        }
    }

    /// What the student's decoder attends to while it trains.
    public enum EncoderOutputs: String, Sendable {
        /// The teacher's encoder outputs (the student shares the teacher's frozen encoder).
        case teacher
        /// Its own frozen encoder's outputs (pretrained, or quantized by the plan), cached.
        case own
        /// Its own encoder, trained with it on each clip's mel window (`--train-encoder`).
        case trained
    }

    /// What the student's decoder attends to while it trains.
    public var encoderOutputs: EncoderOutputs {
        loop?.melWindow != nil ? .trained : loop?.studentEncoderCache != nil ? .own : .teacher
    }

    /// The encoder tensors `--train-encoder` trains: the blocks and the final norm (the
    /// convolutions and the sinusoidal positions stay as they are).
    static func isTrainableEncoderTensor(_ name: String) -> Bool {
        name.hasPrefix("encoder.blocks.") || name.hasPrefix("encoder.ln_post.")
    }

    /// `student` with the encoder tensors `--train-encoder` leaves frozen (convolutions,
    /// positions) taken from `planned`, so that training reads the values it ships.
    static func frozenEncoderAsPlanned(_ student: Checkpoint, _ planned: Checkpoint?) throws -> Checkpoint {
        guard let planned else { return student }
        var tensors: [String: Tensor] = [:]
        for (name, t) in student.tensors {
            if name.hasPrefix("encoder."), !isTrainableEncoderTensor(name), let p = planned.tensor(named: name), p.shape == t.shape {
                tensors[name] = p
            } else {
                tensors[name] = t
            }
        }
        return try Checkpoint(dims: student.dims, tensors: tensors, tokenizer: student.tokenizer, melFilters: student.melFilters,
                              generation: student.generation, provenance: student.provenance)
    }

    /// The student's encoder must take the teacher's windows (same mel bins and frames).
    static func checkEncoderTrains(student s: ModelDims, teacher t: ModelDims) throws {
        guard s.nMels == t.nMels, s.nAudioCtx == t.nAudioCtx else {
            throw TrainingError("--train-encoder needs the teacher's audio windows: the student takes \(s.nMels) mel bins × \(2 * s.nAudioCtx) frames, the teacher \(t.nMels) × \(2 * t.nAudioCtx)")
        }
    }

    /// The quantized encodings `archive` gives the student's trainable decoder tensors (and,
    /// with `encoderTrains`, its trainable encoder tensors; same names and shapes required): those that differ from the student's own, and every block
    /// encoding even where the student has it already (a compressed archive continuing its
    /// quantization-aware training through its own encodings). Empty is allowed when the plan
    /// changes the encoder.
    static func encodings(_ planned: Checkpoint, for student: Checkpoint, path archive: String, encoderChanges: Bool,
                          encoderTrains: Bool = false) throws -> [String: Encoding] {
        var out: [String: Encoding] = [:]
        for (name, t) in planned.tensors where (name.hasPrefix("decoder.") || (encoderTrains && isTrainableEncoderTensor(name))) && t.encoding != .f32 {
            guard let own = student.tensor(named: name), own.shape == t.shape else {
                throw TrainingError("--plan \(archive): tensor \(name) \(t.shape) is not one of the student's (another model's plan?)")
            }
            if t.encoding != own.encoding || t.encoding.isQuantized { out[name] = t.encoding }
        }
        guard !out.isEmpty || encoderChanges else { throw TrainingError("--plan \(archive) changes no tensor of the student") }
        return out
    }

    /// The student's word error rate on `clips` at its current weights (as quantized under
    /// QAT): its greedy transcript of each clip's cached encoder output against the clip's
    /// label, Whisper's English normalizer on both sides.
    func wordErrorRate(_ clips: [TaughtClip], tokenizer: WhisperTokenizer) throws -> Double {
        let model = try WhisperModel(try currentCheckpoint())
        let normalize = EnglishTextNormalizer()
        var total = EditCounts()
        for clip in clips {
            // Both sequences: the prompt, the transcript, end of text.
            func text(_ tokens: [Int]) -> String {
                normalize(tokenizer.decode(tokens.dropFirst(clip.promptLength).filter { $0 != tokenizer.endOfText }))
            }
            let encoded = try loop?.melWindow.map { try model.encoder.encode($0(clip.id)) } ?? clip.encoderOutput
            let heard = try model.greedySequence(encoderOutput: encoded, options: request.options)
            total = total + EditCounts.words(reference: text(clip.tokens), hypothesis: text(heard))
        }
        return total.rate
    }

    /// The student at its current weights, in its source encodings (the planned ones, exactly
    /// as trained, under QAT), without the distillation record.
    func currentCheckpoint() throws -> Checkpoint {
        guard let loop else { throw TrainingError("the job has not been prepared") }
        var tensors: [String: Tensor] = [:]
        let store = loop.trainer.student
        for (name, source) in studentCheckpoint.tensors {
            let e = try store.entry(name)
            if let fake = loop.trainer.fakeQuantization, fake.plan[name] != nil {
                tensors[name] = try fake.encoded(name)
            } else if e.isTrainable {
                tensors[name] = try Tensor(shape: e.shape, floats: try store.array(name)).converted(to: source.encoding)
            } else if let frozen = planned?.tensor(named: name), frozen.shape == source.shape {
                tensors[name] = frozen  // frozen: the plan's bytes of these very values
            } else {
                tensors[name] = source
            }
        }
        return try Checkpoint(dims: studentCheckpoint.dims, tensors: tensors, tokenizer: studentCheckpoint.tokenizer,
                              melFilters: studentCheckpoint.melFilters, generation: studentCheckpoint.generation,
                              provenance: studentCheckpoint.provenance)
    }

    /// The trained student in its source encodings (the planned ones, exactly as trained, under
    /// QAT), with the distillation record (its training time is the loop's, resumed runs included).
    public func result() throws -> Checkpoint {
        var out = try currentCheckpoint()
        var manifestJSON = studentCheckpoint.archiveManifest ?? JSONObject()
        var compression = manifestJSON["compression"]?.objectValue ?? JSONObject()
        compression["layer_map"] = try record()
        for key in ["encodings", "error_profiles", "evaluation"] where compression[key] == nil { compression[key] = .null }
        manifestJSON["compression"] = .object(compression)
        out.archiveManifest = manifestJSON
        return out
    }

    func record() throws -> JSONValue {
        let loop = loop!
        let seconds = loop.seconds
        let data = try Data(contentsOf: URL(fileURLWithPath: request.data))
        let dataHash = data.withUnsafeBytes { SHA256Hasher.hex($0) }
        let tokens = loop.trainingCurve.reduce(0) { $0 + $1.loss.positions }
        // At most 200 points of the training curve: means over equal spans of steps.
        let span = max(1, (loop.trainingCurve.count + 199) / 200)
        let curve: [JSONValue] = stride(from: 0, to: loop.trainingCurve.count, by: span).map { start in
            let part = loop.trainingCurve[start..<min(loop.trainingCurve.count, start + span)]
            var l = LossComponents()
            for p in part { l.total += p.loss.total; l.kl += p.loss.kl; l.crossEntropy += p.loss.crossEntropy; l.hidden += p.loss.hidden; l.positions += p.loss.positions }
            let n = Double(part.count)
            l.total /= n; l.kl /= n; l.crossEntropy /= n; l.hidden /= n
            return LossPoint(step: part.last!.step, epoch: part.last!.epoch, loss: l).json
        }
        return .object([
            "kind": .string("distillation"),
            "teacher": .object(["path": .string(teacherCheckpoint.provenance.path), "sha256": .string(teacherCheckpoint.provenance.sha256),
                                "decoder_layers": .number(teacherCheckpoint.dims.nTextLayer)]),
            "student_selection": selection,
            "hidden_layer_map": layerMapJSON(loop.trainer.layerMap),
            "hidden_layer_map_history": loop.historyJSON,
            "settings": request.settings.json,
            "quantization_aware": planned == nil ? .null : .object([
                "plan": .string(request.plan ?? ""),
                "encodings": .object(JSONObject((loop.trainer.fakeQuantization?.plan ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, .string($0.value.rawValue)) }))]),
            "student_encoder_outputs": .string(encoderOutputs.rawValue),
            "data": .object(["manifest": .string(request.data), "sha256": .string(dataHash), "clips": .number(request.clips.limit.map { min($0, manifest.clips.count) } ?? manifest.clips.count),
                             "dropped": .number(dropped.count), "training_clips": .number(loop.trainIDs.count),
                             "validation_clips": .number(loop.validationIDs.count)]),
            "steps": .number(loop.step), "seconds": .number(seconds), "tokens_per_second": .number(seconds > 0 ? Double(tokens) / seconds : 0),
            "training_curve": .array(curve), "validation_curve": .array(loop.validationCurve.map(\.json)),
        ])
    }
}
