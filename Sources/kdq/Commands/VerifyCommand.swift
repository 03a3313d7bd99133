import ArgumentParser
import KDQFormats

/// `kdq verify FILE.kdq`: check an archive end to end.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a .kdq archive: layout, archive digest, manifest schema, every member's SHA-256, tensors against dims.",
        discussion: "Prints every problem found and exits with status 1 if there is any."
    )

    @Argument(help: "The .kdq archive.")
    var archive: String

    @OptionGroup var output: OutputOptions

    func run() throws {
        let report = try KDQVerifier.verify(archive)
        if output.json {
            output.emit(.object(["path": .string(report.path), "valid": .bool(report.isValid), "compressed": .bool(report.compressed),
                                 "members_hashed": .number(report.membersHashed), "problems": .array(report.problems.map { .string($0) })]))
        } else if report.isValid {
            print("\(archive): OK (\(report.membersHashed) members hashed, archive digest and manifest schema valid)")
        } else {
            for p in report.problems { print("\(archive): \(p)") }
        }
        if !report.isValid { throw ExitCode(1) }
    }
}
