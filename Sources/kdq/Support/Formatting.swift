#if canImport(Glibc)
import Glibc
#endif

/// Human-readable numbers for terminal output.
enum Format {
    /// Bytes in decimal units: 512 B, 75.5 MB, 1.21 GB.
    static func bytes(_ n: Int) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var v = Double(n), u = 0
        while v >= 1000, u < units.count - 1 { v /= 1000; u += 1 }
        return u == 0 ? "\(n) B" : fixed(v, v >= 100 ? 1 : 2) + " " + units[u]
    }

    /// A count with a magnitude suffix: 37.76 M.
    static func count(_ n: Int) -> String {
        n >= 1_000_000 ? fixed(Double(n) / 1e6, 2) + " M" : (n >= 10_000 ? fixed(Double(n) / 1e3, 1) + " k" : "\(n)")
    }

    static func shape(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }

    /// `digits` digits after the point.
    static func fixed(_ v: Double, _ digits: Int) -> String {
        guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([v]) { vsnprintf(&buffer, 64, "%.\(digits)f", $0) }
        return String(cString: buffer)
    }

    /// A bar of `width` cells filled in proportion to `value / maximum`, in eighths of a cell.
    static func bar(_ value: Double, of maximum: Double, width: Int = 20) -> String {
        guard maximum > 0, value.isFinite, value > 0 else { return "" }
        let eighths = Int((min(1, value / maximum) * Double(width * 8)).rounded())
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        return String(repeating: "█", count: eighths / 8) + partial[eighths % 8]
    }

    /// Scientific notation with 3 significant digits: 1.23e-04.
    static func sci(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
        if v == 0 { return "0" }
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([v]) { vsnprintf(&buffer, 64, "%.3g", $0) }
        return String(cString: buffer)
    }
}
