import Foundation

/// One axis of a chart: the data range, linear or logarithmic, mapped onto a pixel span, with
/// round-numbered ticks.
struct ChartAxis {
    let low: Double, high: Double
    let logarithmic: Bool
    let label: String

    /// An axis covering `values` (finite ones; positive ones on a log axis), from zero when
    /// `fromZero` and linear.
    init(covering values: [Double], label: String, logarithmic: Bool = false, fromZero: Bool = false) {
        self.label = label
        self.logarithmic = logarithmic
        let usable = values.filter { $0.isFinite && (!logarithmic || $0 > 0) }
        var lo = usable.min() ?? 0, hi = usable.max() ?? 1
        if logarithmic {
            if usable.isEmpty { (lo, hi) = (0.1, 1) }
            lo = pow(10, floor(log10(lo)))
            hi = pow(10, ceil(log10(hi)))
            if hi <= lo { hi = lo * 10 }
        } else {
            if fromZero { lo = min(0, lo) }
            if hi <= lo { hi = lo + (lo == 0 ? 1 : abs(lo)) }
            let step = Self.niceStep((hi - lo) / 5)
            lo = floor(lo / step) * step
            hi = ceil(hi / step) * step
        }
        low = lo
        high = hi
    }

    /// Where `value` falls between 0 (low) and 1 (high), clamped.
    func fraction(_ value: Double) -> Double {
        let f: Double
        if logarithmic {
            guard value > 0 else { return 0 }
            f = (log10(value) - log10(low)) / (log10(high) - log10(low))
        } else {
            f = (value - low) / (high - low)
        }
        return min(1, max(0, f.isFinite ? f : 0))
    }

    /// Round values inside the range to label.
    var ticks: [Double] {
        if logarithmic {
            let decades = Int((log10(high) - log10(low)).rounded())
            var out: [Double] = []
            for k in 0...max(0, decades) {
                let base = low * pow(10, Double(k))
                out.append(base)
                if decades <= 2 && k < decades { out += [2 * base, 5 * base] }
            }
            return out.filter { $0 <= high * 1.000001 }
        }
        let step = Self.niceStep((high - low) / 5)
        return stride(from: ceil(low / step - 1e-9) * step, through: high + step / 1000, by: step).map { abs($0) < step / 1e6 ? 0 : $0 }
    }

    /// 1, 2 or 5 times a power of ten, near `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let power = pow(10, floor(log10(raw)))
        let m = raw / power
        return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power
    }

    /// A short label for a tick value.
    static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e5 || a < 1e-3 { return String(format: "%.0e", v) }
        if a >= 100 || v == v.rounded() { return String(format: "%.0f", v) }
        if a >= 1 { return String(format: "%.1f", v).replacingOccurrences(of: ".0", with: "") }
        return String(format: "%g", (v * 1e4).rounded() / 1e4)
    }
}
