/// The parts every chart shares: the `<svg>` element with its accessible title, axes with
/// ticks, grid lines and labels, and a legend.
struct SVGFrame {
    private var parts: [String]

    init(width: Double, height: Double, title: String) {
        parts = ["<svg class=\"chart\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"\(f(width))\" height=\"\(f(height))\">",
                 "<title>\(HTML.escape(title))</title>"]
    }

    mutating func add(_ element: String) { parts.append(element) }

    /// Both axes of a plot area (left, top, width, height), the y grid and the axis labels.
    mutating func axes(x: ChartAxis?, y: ChartAxis, plot: (left: Double, top: Double, width: Double, height: Double),
                       px: (Double) -> Double, py: (Double) -> Double) {
        let bottom = plot.top + plot.height, right = plot.left + plot.width
        for t in y.ticks {
            let yy = py(t)
            add("<line x1=\"\(f(plot.left))\" y1=\"\(f(yy))\" x2=\"\(f(right))\" y2=\"\(f(yy))\" stroke=\"#ddd\"/>")
            add("<text x=\"\(f(plot.left - 6))\" y=\"\(f(yy + 4))\" text-anchor=\"end\" class=\"tick\">\(ChartAxis.format(t))</text>")
        }
        if let x {
            for t in x.ticks {
                let xx = px(t)
                add("<line x1=\"\(f(xx))\" y1=\"\(f(bottom))\" x2=\"\(f(xx))\" y2=\"\(f(bottom + 5))\" stroke=\"#333\"/>")
                add("<text x=\"\(f(xx))\" y=\"\(f(bottom + 18))\" text-anchor=\"middle\" class=\"tick\">\(ChartAxis.format(t))</text>")
            }
            add("<text x=\"\(f(plot.left + plot.width / 2))\" y=\"\(f(bottom + 38))\" text-anchor=\"middle\" class=\"axis-label\">\(HTML.escape(x.label))</text>")
        }
        add("<line x1=\"\(f(plot.left))\" y1=\"\(f(plot.top))\" x2=\"\(f(plot.left))\" y2=\"\(f(bottom))\" stroke=\"#333\"/>")
        add("<line x1=\"\(f(plot.left))\" y1=\"\(f(bottom))\" x2=\"\(f(right))\" y2=\"\(f(bottom))\" stroke=\"#333\"/>")
        let cy = plot.top + plot.height / 2
        add("<text transform=\"translate(16 \(f(cy))) rotate(-90)\" text-anchor=\"middle\" class=\"axis-label\">\(HTML.escape(y.label))</text>")
    }

    /// One row of legend entries (name, colour, dashed) at height `y`.
    mutating func legend(_ entries: [(name: String, color: String, dashed: Bool)], y: Double) {
        var x = 70.0
        for e in entries {
            if e.dashed {
                add("<line x1=\"\(f(x))\" y1=\"\(f(y - 4))\" x2=\"\(f(x + 18))\" y2=\"\(f(y - 4))\" stroke=\"\(e.color)\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>")
            } else {
                add("<rect x=\"\(f(x))\" y=\"\(f(y - 10))\" width=\"18\" height=\"10\" fill=\"\(e.color)\"/>")
            }
            add("<text x=\"\(f(x + 24))\" y=\"\(f(y))\" class=\"legend\">\(HTML.escape(e.name))</text>")
            x += 34 + 7 * Double(e.name.count)
        }
    }

    var closed: String { (parts + ["</svg>"]).joined(separator: "\n") }
}
