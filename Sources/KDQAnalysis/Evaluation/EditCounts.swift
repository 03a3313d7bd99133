/// Substitutions, deletions and insertions of a minimum-edit (Levenshtein) alignment of a
/// hypothesis to a reference, over words or characters. Counts add up over a corpus.
public struct EditCounts: Sendable, Equatable {
    public var substitutions = 0
    public var deletions = 0
    public var insertions = 0
    /// Reference tokens (words or characters).
    public var referenceLength = 0

    public init() {}

    public var errors: Int { substitutions + deletions + insertions }

    /// errors / reference length (0 for an empty reference with no errors).
    public var rate: Double {
        referenceLength == 0 ? (errors == 0 ? 0 : .infinity) : Double(errors) / Double(referenceLength)
    }

    public static func + (a: EditCounts, b: EditCounts) -> EditCounts {
        var r = a
        r.substitutions += b.substitutions
        r.deletions += b.deletions
        r.insertions += b.insertions
        r.referenceLength += b.referenceLength
        return r
    }

    /// Aligns `hypothesis` to `reference` with unit costs and counts the operations of one
    /// optimal alignment (ties prefer a match or substitution, then deletion, then insertion).
    public static func align<T: Equatable>(reference: [T], hypothesis: [T]) -> EditCounts {
        let n = reference.count, m = hypothesis.count
        var d = [Int](repeating: 0, count: (n + 1) * (m + 1))
        let w = m + 1
        for i in 0...n { d[i * w] = i }
        for j in 0...m { d[j] = j }
        if n > 0 && m > 0 {
            for i in 1...n {
                for j in 1...m {
                    let cost = reference[i - 1] == hypothesis[j - 1] ? 0 : 1
                    d[i * w + j] = Swift.min(d[(i - 1) * w + j - 1] + cost, d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1)
                }
            }
        }
        var counts = EditCounts()
        counts.referenceLength = n
        var i = n, j = m
        while i > 0 || j > 0 {
            if i > 0 && j > 0 && d[i * w + j] == d[(i - 1) * w + j - 1] + (reference[i - 1] == hypothesis[j - 1] ? 0 : 1) {
                if reference[i - 1] != hypothesis[j - 1] { counts.substitutions += 1 }
                i -= 1; j -= 1
            } else if i > 0 && d[i * w + j] == d[(i - 1) * w + j] + 1 {
                counts.deletions += 1
                i -= 1
            } else {
                counts.insertions += 1
                j -= 1
            }
        }
        return counts
    }

    /// Word edits as jiwer counts them (words split on white space).
    public static func words(reference: String, hypothesis: String) -> EditCounts {
        align(reference: reference.split(whereSeparator: { $0.isWhitespace }).map(String.init),
              hypothesis: hypothesis.split(whereSeparator: { $0.isWhitespace }).map(String.init))
    }

    /// Character edits as jiwer counts them (every character of the stripped text, spaces included).
    public static func characters(reference: String, hypothesis: String) -> EditCounts {
        align(reference: Array(reference.trimmed), hypothesis: Array(hypothesis.trimmed))
    }
}

extension String {
    /// Without leading and trailing white space.
    var trimmed: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }
}
