import Foundation

/// A line chart as inline SVG: series of (x, y) points, optional vertical reference lines and
/// highlighted points, with axes, units and a legend.
public struct LineChart {
    public struct Series {
        public let name: String
        public let color: String
        public let points: [(x: Double, y: Double)]
        public var dashed = false
        public var markers = false

        public init(name: String, color: String, points: [(x: Double, y: Double)], dashed: Bool = false, markers: Bool = false) {
            self.name = name
            self.color = color
            self.points = points
            self.dashed = dashed
            self.markers = markers
        }
    }

    public let title: String
    public let xLabel: String, yLabel: String
    public var xLogarithmic = false, yLogarithmic = false
    public var series: [Series]
    /// Vertical lines at x with a label (a budget, a chosen size).
    public var verticals: [(x: Double, label: String)] = []
    /// Points drawn large with a label (the chosen plan).
    public var highlights: [(x: Double, y: Double, label: String)] = []

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    static let width = 680.0, height = 340.0
    static let left = 70.0, right = 20.0, top = 16.0, bottom = 82.0

    /// The chart as an `<svg>` element.
    public var svg: String {
        let w = Self.width, h = Self.height
        let pw = w - Self.left - Self.right, ph = h - Self.top - Self.bottom
        let xs = series.flatMap { $0.points.map(\.x) } + verticals.map(\.x) + highlights.map(\.x)
        let ys = series.flatMap { $0.points.map(\.y) } + highlights.map(\.y)
        let xAxis = ChartAxis(covering: xs, label: xLabel, logarithmic: xLogarithmic)
        let yAxis = ChartAxis(covering: ys, label: yLabel, logarithmic: yLogarithmic, fromZero: !yLogarithmic)
        func px(_ x: Double) -> Double { Self.left + xAxis.fraction(x) * pw }
        func py(_ y: Double) -> Double { Self.top + (1 - yAxis.fraction(y)) * ph }
        var s = SVGFrame(width: w, height: h, title: title)
        s.axes(x: xAxis, y: yAxis, plot: (Self.left, Self.top, pw, ph), px: px, py: py)
        for v in verticals {
            s.add("<line class=\"reference\" x1=\"\(f(px(v.x)))\" y1=\"\(f(Self.top))\" x2=\"\(f(px(v.x)))\" y2=\"\(f(Self.top + ph))\" stroke=\"#555\" stroke-dasharray=\"2 3\"/>")
            s.add("<text x=\"\(f(px(v.x) + 4))\" y=\"\(f(Self.top + 12))\" class=\"note\">\(HTML.escape(v.label))</text>")
        }
        for series in self.series {
            let pts = series.points.filter { $0.x.isFinite && $0.y.isFinite && (!yLogarithmic || $0.y > 0) && (!xLogarithmic || $0.x > 0) }
            guard !pts.isEmpty else { continue }
            let path = pts.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(f(px($0.element.x))),\(f(py($0.element.y)))" }.joined(separator: " ")
            s.add("<path class=\"mark\" d=\"\(path)\" fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"2\"\(series.dashed ? " stroke-dasharray=\"6 4\"" : "")/>")
            if series.markers || pts.count == 1 {
                for p in pts { s.add("<circle class=\"mark\" cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3\" fill=\"\(series.color)\"/>") }
            }
        }
        for p in highlights where p.x.isFinite && p.y.isFinite {
            s.add("<circle class=\"mark\" cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"6\" fill=\"none\" stroke=\"\(Palette.black)\" stroke-width=\"2\"/>")
            s.add("<text x=\"\(f(px(p.x) + 9))\" y=\"\(f(py(p.y) - 8))\" class=\"note\">\(HTML.escape(p.label))</text>")
        }
        s.legend(series.map { ($0.name, $0.color, $0.dashed) }, y: h - 12)
        return s.closed
    }
}

/// A number for an SVG attribute.
func f(_ v: Double) -> String { String(format: "%.1f", v) }
