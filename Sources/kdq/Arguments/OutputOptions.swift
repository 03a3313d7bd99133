import ArgumentParser
import KDQJSON

/// `--json`: machine-readable output instead of the terminal report.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the report as JSON on standard output.")
    var json = false

    /// Prints `value` as pretty JSON.
    func emit(_ value: JSONValue) {
        print(value.serialized(pretty: true))
    }
}
