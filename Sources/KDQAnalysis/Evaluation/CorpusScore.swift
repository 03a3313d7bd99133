/// Corpus-level WER and CER of a set of utterances (errors summed over the set, not averaged
/// per utterance), with a bootstrap confidence interval for WER.
public struct CorpusScore: Sendable {
    public let words: EditCounts
    public let characters: EditCounts
    /// The 2.5th and 97.5th percentiles of corpus WER over bootstrap resamples of utterances.
    public let werInterval: (low: Double, high: Double)

    /// Scores per-utterance counts; `resamples` draws (deterministic for a seed).
    public init(_ utterances: [(words: EditCounts, characters: EditCounts)], resamples: Int = 1000, seed: UInt64 = 1) {
        words = utterances.reduce(EditCounts()) { $0 + $1.words }
        characters = utterances.reduce(EditCounts()) { $0 + $1.characters }
        guard !utterances.isEmpty else { werInterval = (0, 0); return }
        var rng = seed
        func next() -> UInt64 {
            rng &+= 0x9E37_79B9_7F4A_7C15
            var z = rng
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var rates: [Double] = []
        for _ in 0..<resamples {
            var errors = 0, length = 0
            for _ in utterances.indices {
                let u = utterances[Int(next() % UInt64(utterances.count))]
                errors += u.words.errors
                length += u.words.referenceLength
            }
            rates.append(length == 0 ? 0 : Double(errors) / Double(length))
        }
        rates.sort()
        werInterval = (rates[Int(0.025 * Double(resamples - 1))], rates[Int(0.975 * Double(resamples - 1))])
    }

    public var wer: Double { words.rate }
    public var cer: Double { characters.rate }
}
