import ArgumentParser
import KDQCompare

/// How many clips `compare` and `report` run both models on, and in which language.
struct ComparisonOptions: ParsableArguments {
    @Option(help: "Use N clips spread over the audio manifest (0: all).")
    var limit: Int = 16

    @Option(help: "Language code (multilingual models).")
    var language: String?

    func validate() throws {
        guard limit >= 0 else { throw ValidationError("--limit must be at least 0") }
    }

    /// The comparison of `student` with `teacher` on the clips of `manifest` these options select.
    func request(teacher: String, student: String, manifest: String) -> ModelComparison.Request {
        var request = ModelComparison.Request(teacher: teacher, student: student, manifest: manifest)
        request.limit = limit == 0 ? nil : limit
        request.options.language = language
        return request
    }
}
