/// A vertical bar chart as inline SVG: one bar per category, stacked when there are several
/// series, with axes, units and a legend.
public struct BarChart {
    /// One stacked part of every bar.
    public struct Series {
        public let name: String
        public let color: String
        /// One value per category.
        public let values: [Double]

        public init(name: String, color: String, values: [Double]) {
            self.name = name
            self.color = color
            self.values = values
        }
    }

    public let title: String
    public let categories: [String]
    public let series: [Series]
    public let yLabel: String
    public var yLogarithmic = false
    /// The categories' axis title.
    public var xLabel = ""

    public init(title: String, categories: [String], series: [Series], yLabel: String) {
        self.title = title
        self.categories = categories
        self.series = series
        self.yLabel = yLabel
    }

    /// The chart as an `<svg>` element.
    public var svg: String {
        let slot = max(18.0, min(56.0, 600.0 / Double(max(1, categories.count))))
        let left = 70.0, top = 16.0
        let rotate = categories.contains { Double($0.count) * 6.5 > slot }
        let labelRoom = rotate ? min(120.0, 6.0 * Double(categories.map(\.count).max() ?? 0) * 0.75 + 12) : 20
        let pw = slot * Double(categories.count), ph = 220.0
        let w = max(680.0, left + pw + 20), h = top + ph + labelRoom + 56
        let totals = categories.indices.map { k in series.reduce(0.0) { $0 + (k < $1.values.count ? max(0, $1.values[k]) : 0) } }
        let yAxis = ChartAxis(covering: yLogarithmic ? series.flatMap(\.values) + totals : totals + [0], label: yLabel,
                              logarithmic: yLogarithmic, fromZero: true)
        func py(_ y: Double) -> Double { top + (1 - yAxis.fraction(y)) * ph }
        var s = SVGFrame(width: w, height: h, title: title)
        s.axes(x: nil, y: yAxis, plot: (left, top, pw, ph), px: { $0 }, py: py)
        for (k, name) in categories.enumerated() {
            let x = left + slot * Double(k)
            var base = yLogarithmic ? yAxis.low : 0
            for series in self.series where k < series.values.count && series.values[k] > 0 && series.values[k].isFinite {
                let top = base + series.values[k]
                let y0 = py(base), y1 = py(top)
                s.add("<rect class=\"mark\" x=\"\(f(x + slot * 0.15))\" y=\"\(f(y1))\" width=\"\(f(slot * 0.7))\" height=\"\(f(max(0.5, y0 - y1)))\" fill=\"\(series.color)\"><title>\(HTML.escape("\(name) · \(series.name): \(ChartAxis.format(series.values[k]))"))</title></rect>")
                base = top
            }
            let cx = x + slot / 2, ly = top + ph + 14
            if rotate {
                s.add("<text transform=\"translate(\(f(cx + 3)) \(f(ly - 6))) rotate(-50)\" text-anchor=\"end\" class=\"tick\">\(HTML.escape(name))</text>")
            } else {
                s.add("<text x=\"\(f(cx))\" y=\"\(f(ly))\" text-anchor=\"middle\" class=\"tick\">\(HTML.escape(name))</text>")
            }
        }
        if !xLabel.isEmpty {
            s.add("<text x=\"\(f(left + pw / 2))\" y=\"\(f(top + ph + labelRoom + 14))\" text-anchor=\"middle\" class=\"axis-label\">\(HTML.escape(xLabel))</text>")
        }
        if series.count > 1 || series.first?.name.isEmpty == false { s.legend(series.map { ($0.name, $0.color, false) }, y: h - 12) }
        return s.closed
    }
}
