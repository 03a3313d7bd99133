#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock laps on the monotonic clock.
public final class Stopwatch {
    private var last: Double

    public init() { last = Stopwatch.now() }

    /// Seconds since the previous lap (or creation).
    public func lap() -> Double {
        let t = Stopwatch.now()
        defer { last = t }
        return t - last
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
