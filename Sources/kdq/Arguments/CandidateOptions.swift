import ArgumentParser
import KDQQuantize
import KDQTensor

/// `--candidates`: the encodings a guided plan chooses among (quantize and compress).
struct CandidateOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Candidate encodings for guided plans, comma-separated, from \(QuantizationCandidates.available.map(\.rawValue).joined(separator: ", ")).",
                               valueName: "list"))
    var candidates: String = QuantizationCandidates.encodings.map(\.rawValue).joined(separator: ",")

    func validate() throws {
        _ = try encodings()
    }

    /// The parsed encodings, in the order given.
    func encodings() throws -> [Encoding] {
        let names = candidates.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty else { throw ValidationError("--candidates: empty; expected some of \(Self.availableList)") }
        return try names.map { name in
            guard let e = Encoding(rawValue: name), QuantizationCandidates.available.contains(e) else {
                throw ValidationError("--candidates: unknown candidate '\(name)'; expected some of \(Self.availableList)")
            }
            return e
        }
    }

    static var availableList: String { QuantizationCandidates.available.map(\.rawValue).joined(separator: ", ") }
}
