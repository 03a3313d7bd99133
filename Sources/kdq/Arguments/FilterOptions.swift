import ArgumentParser
import KDQAnalysis

/// `--filter`: restrict a report to tensors whose canonical names match.
struct FilterOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Only tensors whose canonical name matches (shell pattern with * and ?, or a substring); repeatable.", valueName: "pattern"))
    var filter: [String] = []

    /// Accepts a name when no pattern is given or any pattern matches it.
    var predicate: (String) -> Bool {
        let patterns = filter.map(NamePattern.init)
        return { name in patterns.isEmpty || patterns.contains { $0.matches(name) } }
    }
}
