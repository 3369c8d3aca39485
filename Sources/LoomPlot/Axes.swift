import Foundation

/// One panel's mapping from data to pixels, and the drawing of its frame, grid, ticks and labels.
public struct Axes: Sendable {
    /// The plotting area in pixels (inside the ticks and labels).
    public var frame: SVGRect
    public var x: Ticks
    public var y: Ticks
    public var xScale: AxisScale
    public var yScale: AxisScale

    public init(frame: SVGRect, x: Ticks, y: Ticks, xScale: AxisScale = .linear, yScale: AxisScale = .linear) {
        self.frame = frame
        self.x = x
        self.y = y
        self.xScale = xScale
        self.yScale = yScale
    }

    /// Horizontal pixel of data value `v`.
    public func px(_ v: Double) -> Double {
        frame.x + frame.width * Self.fraction(v, x.lower, x.upper, xScale)
    }

    /// Vertical pixel of data value `v` (up is larger).
    public func py(_ v: Double) -> Double {
        frame.maxY - frame.height * Self.fraction(v, y.lower, y.upper, yScale)
    }

    /// Whether `v` can be drawn on a `scale` axis (finite; positive on a log axis).
    public static func drawable(_ v: Double, _ scale: AxisScale) -> Bool {
        v.isFinite && (scale == .linear || v > 0)
    }

    static func fraction(_ v: Double, _ lo: Double, _ hi: Double, _ scale: AxisScale) -> Double {
        switch scale {
        case .linear: return hi > lo ? (v - lo) / (hi - lo) : 0.5
        case .log:
            let a = log10(lo), b = log10(hi)
            return b > a ? (log10(v) - a) / (b - a) : 0.5
        }
    }

    /// Grid, frame, tick labels, axis labels and title.
    public func draw(into doc: inout SVGDocument, xLabel: String? = nil, yLabel: String? = nil,
                     title: String? = nil, fontSize: Double = 11) {
        let grid = "#e6e6e6", ink = "#444"
        doc.rect(frame, fill: "white")
        for v in x.values {
            let p = px(v)
            doc.line(SVGPoint(p, frame.y), SVGPoint(p, frame.maxY), stroke: grid)
            doc.line(SVGPoint(p, frame.maxY), SVGPoint(p, frame.maxY + 4), stroke: ink)
            doc.text(x.label(v), at: SVGPoint(p, frame.maxY + 6 + fontSize), size: fontSize, anchor: .middle, fill: ink)
        }
        for v in y.values {
            let p = py(v)
            doc.line(SVGPoint(frame.x, p), SVGPoint(frame.maxX, p), stroke: grid)
            doc.line(SVGPoint(frame.x - 4, p), SVGPoint(frame.x, p), stroke: ink)
            doc.text(y.label(v), at: SVGPoint(frame.x - 7, p + fontSize * 0.35), size: fontSize, anchor: .end, fill: ink)
        }
        doc.rect(frame, stroke: "#999", strokeWidth: 1)
        if let xLabel {
            doc.text(xLabel, at: SVGPoint(frame.x + frame.width / 2, frame.maxY + 12 + 2.2 * fontSize),
                     size: fontSize + 1, anchor: .middle, fill: "#222")
        }
        if let yLabel {
            let widest = y.values.map { TextMetrics.width(y.label($0), size: fontSize) }.max() ?? 0
            let at = SVGPoint(frame.x - 14 - widest - fontSize * 0.4, frame.y + frame.height / 2)
            doc.text(yLabel, at: at, size: fontSize + 1, anchor: .middle, fill: "#222", rotate: -90)
        }
        if let title {
            doc.text(title, at: SVGPoint(frame.x + frame.width / 2, frame.y - 10), size: fontSize + 3, anchor: .middle,
                     fill: "#111", weight: "bold")
        }
    }

    /// Room a y axis needs left of the frame for its tick labels and label.
    public static func leftMargin(for ticks: Ticks, label: Bool, fontSize: Double) -> Double {
        let widest = ticks.values.map { TextMetrics.width(ticks.label($0), size: fontSize) }.max() ?? 0
        return 14 + widest + (label ? 2 * fontSize + 6 : 0)
    }
}

/// Colours for series and groups: matplotlib's `tab10`.
public enum Palette {
    public static let tab10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                               "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    public static func color(_ index: Int) -> String { tab10[index % tab10.count] }
}
