import Foundation

/// Lines of y against x for several series on one pair of axes, with a legend: training curves
/// of several runs side by side.
public struct LineChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var x: [Double]
        public var y: [Double]
        /// Stroke colour; nil takes the next `Palette.tab10` colour.
        public var color: String?
        public var dashed: Bool

        /// Points whose x or y is not finite (or y ≤ 0 on a log axis) break the line.
        public init(name: String, x: [Double], y: [Double], color: String? = nil, dashed: Bool = false) {
            self.name = name
            self.x = x
            self.y = y
            self.color = color
            self.dashed = dashed
        }
    }

    public var series: [Series]
    public var title: String?
    public var xLabel: String?
    public var yLabel: String?
    public var yScale: AxisScale
    public var fontSize = 11.0
    public var lineWidth = 1.6
    /// Room left of the frame for the y axis; nil fits this chart's tick labels (set the same
    /// value on charts stacked in one picture so their frames line up).
    public var leftMargin: Double?

    public init(series: [Series], title: String? = nil, xLabel: String? = nil, yLabel: String? = nil,
                yScale: AxisScale = .linear) {
        self.series = series
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.yScale = yScale
    }

    /// The chart alone in a document of `width × height`.
    public func document(width: Double = 820, height: Double = 460) -> SVGDocument {
        var doc = SVGDocument(width: width, height: height)
        draw(into: &doc, in: SVGRect(x: 0, y: 0, width: width, height: height))
        return doc
    }

    /// The axes' ticks over every drawable point.
    private func ticks() -> (x: Ticks, y: Ticks) {
        var xs: [Double] = [], ys: [Double] = []
        for s in series {
            for (a, b) in zip(s.x, s.y) where a.isFinite && Axes.drawable(b, yScale) {
                xs.append(a)
                ys.append(b)
            }
        }
        let xTicks = Ticks.linear(xs.min() ?? 0, xs.max() ?? 1, widen: false)
        let yTicks = yScale == .log ? Ticks.log(ys.min() ?? 1, ys.max() ?? 10) : Ticks.linear(ys.min() ?? 0, ys.max() ?? 1)
        return (xTicks, yTicks)
    }

    /// Room this chart's y axis needs left of the frame.
    public func requiredLeftMargin() -> Double {
        Axes.leftMargin(for: ticks().y, label: yLabel != nil, fontSize: fontSize)
    }

    /// Draws the chart (axes, lines, legend, title) filling `panel`.
    public func draw(into doc: inout SVGDocument, in panel: SVGRect) {
        let (xTicks, yTicks) = ticks()
        let left = leftMargin ?? requiredLeftMargin()
        let top = title == nil ? 14 : 14 + 2 * fontSize
        let bottom = 12 + 1.5 * fontSize + (xLabel == nil ? 0 : 1.5 * fontSize + 6)
        let frame = SVGRect(x: panel.x + left, y: panel.y + top, width: max(10, panel.width - left - 18),
                            height: max(10, panel.height - top - bottom))
        let axes = Axes(frame: frame, x: xTicks, y: yTicks, yScale: yScale)
        axes.draw(into: &doc, xLabel: xLabel, yLabel: yLabel, title: title, fontSize: fontSize)

        var pixels: [[SVGPoint]] = []
        doc.clipped(to: frame.inset(by: -lineWidth)) { doc in
            for (k, s) in series.enumerated() {
                let color = s.color ?? Palette.color(k)
                let width = strokeWidth(k)
                var all: [SVGPoint] = []
                for segment in segments(s, axes) {
                    let thinned = Self.thin(segment, columns: frame.width)
                    doc.polyline(thinned, stroke: color, width: width, dash: s.dashed ? "6 4" : nil)
                    if thinned.count == 1 { doc.circle(thinned[0], radius: width * 1.5, fill: color) }
                    all += thinned
                }
                pixels.append(all)
            }
        }
        if !series.isEmpty { legend(into: &doc, frame: frame, avoiding: pixels.flatMap { $0 }) }
    }

    /// Earlier series are drawn wider, so a run that coincides with a later one (the same
    /// training on two devices) still shows as an outline around it.
    func strokeWidth(_ k: Int) -> Double {
        guard series.count > 1 else { return lineWidth }
        return lineWidth * (1 + 0.7 * Double(series.count - 1 - k) / Double(series.count - 1))
    }

    /// Runs of drawable points of `s`, in pixels, in the order given.
    private func segments(_ s: Series, _ axes: Axes) -> [[SVGPoint]] {
        var out: [[SVGPoint]] = []
        var current: [SVGPoint] = []
        for (a, b) in zip(s.x, s.y) {
            if a.isFinite && Axes.drawable(b, yScale) {
                current.append(SVGPoint(axes.px(a), axes.py(b)))
            } else if !current.isEmpty {
                out.append(current)
                current = []
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// At most the first, lowest, highest and last point of each pixel column (in their order),
    /// so a run of 10⁶ steps draws as it looks and the file stays small.
    public static func thin(_ points: [SVGPoint], columns: Double) -> [SVGPoint] {
        guard points.count > Int(4 * max(columns, 1)) else { return points }
        var out: [SVGPoint] = []
        var start = 0
        while start < points.count {
            let column = points[start].x.rounded(.down)
            var end = start
            var low = start, high = start
            while end < points.count && points[end].x.rounded(.down) == column {
                if points[end].y < points[low].y { low = end }
                if points[end].y > points[high].y { high = end }
                end += 1
            }
            for i in Set([start, low, high, end - 1]).sorted() { out.append(points[i]) }
            start = end
        }
        return out
    }

    /// The legend box in the corner of `frame` that covers the fewest drawn points.
    private func legend(into doc: inout SVGDocument, frame: SVGRect, avoiding points: [SVGPoint]) {
        let size = fontSize, row = size * 1.5, swatch = 22.0
        let widest = series.map { TextMetrics.width($0.name, size: size) }.max() ?? 0
        let w = 8 + swatch + 6 + widest + 8, h = 6 + row * Double(series.count) + 2
        let corners = [
            SVGRect(x: frame.maxX - w - 8, y: frame.y + 8, width: w, height: h),
            SVGRect(x: frame.x + 8, y: frame.y + 8, width: w, height: h),
            SVGRect(x: frame.maxX - w - 8, y: frame.maxY - h - 8, width: w, height: h),
            SVGRect(x: frame.x + 8, y: frame.maxY - h - 8, width: w, height: h),
        ]
        func covered(_ r: SVGRect) -> Int { points.reduce(0) { $0 + (r.inset(by: -4).contains(SVGRect(x: $1.x, y: $1.y, width: 0, height: 0)) ? 1 : 0) } }
        let box = corners.min { covered($0) < covered($1) } ?? corners[0]
        doc.rect(box, fill: "white", stroke: "#bbb", strokeWidth: 1, opacity: 0.92)
        for (k, s) in series.enumerated() {
            let y = box.y + 6 + row * Double(k) + row / 2
            let color = s.color ?? Palette.color(k)
            doc.line(SVGPoint(box.x + 8, y), SVGPoint(box.x + 8 + swatch, y), stroke: color, width: strokeWidth(k) + 0.6,
                     dash: s.dashed ? "6 4" : nil)
            doc.text(s.name, at: SVGPoint(box.x + 8 + swatch + 6, y + size * 0.35), size: size, fill: "#222")
        }
    }
}
