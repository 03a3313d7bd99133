import KDQEngine

/// How far candidate models' next-token distributions are from a reference model's on the
/// same audio and transcript: each clip's transcript (the reference model's own, as text)
/// is teacher-forced through every model and the KL divergence averaged over positions.
public enum TeacherForcedDivergence {
    /// The mean KL (nats per position) of each candidate from `reference`, over `clips`
    /// (audio of at most 30 s, and the transcript to force); `progress` receives clips done.
    public static func measure(reference: WhisperModel, candidates: [WhisperModel], clips: [(samples: [Float], text: String)],
                               options: DecodingOptions, progress: ((Int, Int) -> Void)? = nil) throws -> [Double] {
        var totals = [Double](repeating: 0, count: candidates.count)
        var rows = 0
        for (i, clip) in clips.enumerated() {
            let mel = reference.melWindow(clip.samples)
            let tokens = try reference.teacherSequence(text: clip.text, options: options)
            let logP = LogitDivergence.logSoftmax(try reference.forward(mel: mel, tokens: tokens, keepHidden: false).logits,
                                                  vocab: reference.dims.nVocab)
            for (k, candidate) in candidates.enumerated() {
                guard candidate.dims == reference.dims else {
                    throw QuantizeError("candidate \(k + 1) has other dimensions than the reference; KL needs the same vocabulary")
                }
                let logits = try candidate.forward(mel: mel, tokens: tokens, keepHidden: false).logits
                totals[k] += LogitDivergence.summed(reference: logP, candidate: logits, vocab: reference.dims.nVocab).total
            }
            rows += tokens.count
            progress?(i + 1, clips.count)
        }
        return totals.map { rows == 0 ? 0 : $0 / Double(rows) }
    }
}
