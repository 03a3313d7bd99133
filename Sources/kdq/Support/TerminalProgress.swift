#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress indicator on standard error, shown only when it is a terminal
/// (quiet when piped or redirected), redrawn at most ten times a second.
final class TerminalProgress: @unchecked Sendable {
    private let label: String
    private let enabled: Bool
    private var lastDraw: Double = 0
    private var drawn = false

    init(_ label: String, enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.label = label
        self.enabled = enabled
    }

    /// Shows `done` of `total`; `unit` formats the numbers; `detail` follows them.
    func update(_ done: Int, _ total: Int, unit: (Int) -> String = { "\($0)" }, detail: @autoclosure () -> String = "") {
        guard enabled else { return }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let now = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        guard done == total || now - lastDraw >= 0.1 else { return }
        lastDraw = now
        let width = 30
        let filled = total > 0 ? min(width, width * done / total) : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let more = detail()
        fputs("\r\u{1B}[2K\(label) [\(bar)] \(unit(done))/\(unit(total))\(more.isEmpty ? "" : "  " + more)", stderr)
        drawn = true
    }

    /// Clears the line.
    func finish() {
        guard enabled, drawn else { return }
        fputs("\r\u{1B}[2K", stderr)
    }
}

/// Progress of a pipeline that reports its phase by name: one `TerminalProgress` per phase,
/// the line labelled with the phase it is in.
final class PhasedProgress: @unchecked Sendable {
    private var phase = ""
    private var current: TerminalProgress?

    /// Shows `done` of `total` in `phase`, starting a new line label when the phase changes.
    func update(_ phase: String, _ done: Int, _ total: Int, detail: @autoclosure () -> String = "") {
        if phase != self.phase || current == nil {
            current?.finish()
            current = TerminalProgress(phase)
            self.phase = phase
        }
        current?.update(done, total, detail: detail())
    }

    /// Clears the line.
    func finish() { current?.finish() }
}
