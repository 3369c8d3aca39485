import Foundation

/// A labelled scatter plot: the course's picture of 400 words after t-SNE. The two axes share
/// one scale, except that the data may be stretched by up to `maxStretch` along one axis to use
/// more of the picture (t-SNE's axes carry no units; words need room).
///
/// Labels are placed greedily in the order given (put the most important first): each tries
/// sixteen spots around its point — right, left, above, below, the diagonals, then the same a
/// little farther out — and takes the first that stays inside the picture, overlaps no label
/// placed before and covers no other point; failing that, the spot covering the fewest points
/// (at most `maxCoveredPoints`); failing that, the label is left out. Labels get a white halo so
/// they stay legible over points.
public struct ScatterPlot: Sendable {
    /// Point coordinates in data units.
    public var x: [Double]
    public var y: [Double]
    /// One label per point; empty strings (or missing trailing labels) draw no label.
    public var labels: [String]
    /// Colour of each point (and its label's text); nil colours every point `pointColor`.
    public var colors: [String]?
    public var title: String?
    public var width = 1200.0
    public var height = 1200.0
    public var fontSize = 11.0
    public var pointRadius = 2.6
    public var pointColor = "#1f77b4"
    public var labelColor = "#1a1a1a"
    /// Space between the outermost points and the picture's edge.
    public var margin = 24.0
    public var maxCoveredPoints = 1
    /// Largest ratio between the horizontal and vertical scales (1 keeps them equal).
    public var maxStretch = 1.6
    /// Free space kept between two labels.
    public var labelGap = 2.0

    public init(x: [Double], y: [Double], labels: [String] = [], title: String? = nil) {
        self.x = x
        self.y = y
        self.labels = labels
        self.title = title
    }

    /// A label's place: its box (for overlap tests) and the start of its baseline.
    public struct Placement: Equatable, Sendable {
        public var box: SVGRect
        public var baseline: SVGPoint
    }

    /// Where points and labels go, in pixels.
    public struct Layout: Sendable {
        /// Pixel position of each point (non-finite points are nil and not drawn).
        public var points: [SVGPoint?]
        /// Placement of each label, nil where it was left out (or empty).
        public var labels: [Placement?]
        /// Labels that could not be placed.
        public var dropped: Int
    }

    /// Computes the layout without drawing.
    public func layout() -> Layout {
        let n = min(x.count, y.count)
        let top = title == nil ? 0 : fontSize * 2 + 8
        let area = SVGRect(x: margin, y: margin + top, width: max(1, width - 2 * margin),
                           height: max(1, height - 2 * margin - top))
        // Near-equal scales: the data's larger extent fills its side, the other may stretch a little.
        let finite = (0..<n).filter { x[$0].isFinite && y[$0].isFinite }
        let minX = finite.map { x[$0] }.min() ?? 0, maxX = finite.map { x[$0] }.max() ?? 1
        let minY = finite.map { y[$0] }.min() ?? 0, maxY = finite.map { y[$0] }.max() ?? 1
        let spanX = max(maxX - minX, 1e-300), spanY = max(maxY - minY, 1e-300)
        // Keep room for a label beside the outermost points.
        let inner = area.inset(by: fontSize * 3)
        let common = min(inner.width / spanX, inner.height / spanY)
        let stretch = max(1, maxStretch)
        let scaleX = min(inner.width / spanX, common * stretch), scaleY = min(inner.height / spanY, common * stretch)
        let offsetX = inner.x + (inner.width - spanX * scaleX) / 2
        let offsetY = inner.y + (inner.height - spanY * scaleY) / 2
        var points = [SVGPoint?](repeating: nil, count: n)
        for i in finite {
            points[i] = SVGPoint(offsetX + (x[i] - minX) * scaleX, offsetY + (maxY - y[i]) * scaleY)
        }

        let bounds = SVGRect(x: 2, y: 2 + top, width: width - 4, height: height - 4 - top)
        var pointGrid = Grid(cell: 40)
        for (i, p) in points.enumerated() {
            if let p { pointGrid.insert(i, SVGRect(x: p.x - pointRadius, y: p.y - pointRadius, width: 2 * pointRadius, height: 2 * pointRadius)) }
        }
        var labelGrid = Grid(cell: 40)
        var placements = [Placement?](repeating: nil, count: n)
        var placed: [SVGRect] = []
        var dropped = 0
        let h = fontSize * 1.15
        for i in 0..<n {
            guard let p = points[i], i < labels.count, !labels[i].isEmpty else { continue }
            let w = TextMetrics.width(labels[i], size: fontSize)
            var best: (SVGRect, Int)?
            for box in candidates(around: p, width: w, height: h) where bounds.contains(box) {
                let padded = box.inset(by: -labelGap / 2)
                if labelGrid.any(padded, where: { placed[$0].inset(by: -labelGap / 2).intersects(padded) }) { continue }
                let covered = pointGrid.count(box, excluding: i) { j in
                    guard let q = points[j] else { return false }
                    return box.intersects(SVGRect(x: q.x - pointRadius, y: q.y - pointRadius,
                                                  width: 2 * pointRadius, height: 2 * pointRadius))
                }
                if covered == 0 { best = (box, 0); break }
                if covered <= maxCoveredPoints && covered < (best?.1 ?? Int.max) { best = (box, covered) }
            }
            guard let box = best?.0 else {
                dropped += 1
                continue
            }
            labelGrid.insert(placed.count, box)
            placed.append(box)
            placements[i] = Placement(box: box, baseline: SVGPoint(box.x, box.y + fontSize * 0.88))
        }
        return Layout(points: points, labels: placements, dropped: dropped)
    }

    /// Sixteen boxes of `width × height` around `p`, in order of preference.
    func candidates(around p: SVGPoint, width w: Double, height h: Double) -> [SVGRect] {
        var out: [SVGRect] = []
        for gap in [2.0, 2 + h * 0.9] {
            let r = pointRadius + gap
            let d = r * 0.7
            let spots: [(Double, Double)] = [
                (p.x + r, p.y - h / 2),            // right
                (p.x - r - w, p.y - h / 2),        // left
                (p.x + d, p.y - d - h),            // above right
                (p.x - w / 2, p.y - r - h),        // above
                (p.x - w / 2, p.y + r),            // below
                (p.x - d - w, p.y - d - h),        // above left
                (p.x + d, p.y + d),                // below right
                (p.x - d - w, p.y + d),            // below left
            ]
            for (a, b) in spots { out.append(SVGRect(x: a, y: b, width: w, height: h)) }
        }
        return out
    }

    /// The picture: points, then labels with halos, then the title.
    public func document() -> SVGDocument {
        let layout = layout()
        var doc = SVGDocument(width: width, height: height)
        if let title {
            doc.text(title, at: SVGPoint(width / 2, margin + fontSize + 4), size: fontSize + 5, anchor: .middle,
                     fill: "#111", weight: "bold")
        }
        doc.group(opacity: 0.85) { doc in
            for (i, p) in layout.points.enumerated() {
                guard let p else { continue }
                doc.circle(p, radius: pointRadius, fill: colors.map { i < $0.count ? $0[i] : pointColor } ?? pointColor)
            }
        }
        for (i, placement) in layout.labels.enumerated() {
            guard let placement else { continue }
            let color = colors.map { i < $0.count ? $0[i] : labelColor } ?? labelColor
            doc.text(labels[i], at: placement.baseline, size: fontSize, fill: color, halo: "white", haloWidth: 2.6)
        }
        return doc
    }
}

/// A uniform grid of buckets over the picture: which boxes lie near a box.
struct Grid {
    let cell: Double
    private var buckets: [Int64: [Int]] = [:]

    init(cell: Double) { self.cell = cell }

    private func cells(_ r: SVGRect) -> [Int64] {
        let x0 = Int64((r.x / cell).rounded(.down)), x1 = Int64((r.maxX / cell).rounded(.down))
        let y0 = Int64((r.y / cell).rounded(.down)), y1 = Int64((r.maxY / cell).rounded(.down))
        var out: [Int64] = []
        for a in x0...max(x0, x1) { for b in y0...max(y0, y1) { out.append(a &* 1_000_003 &+ b) } }
        return out
    }

    mutating func insert(_ id: Int, _ r: SVGRect) {
        for c in cells(r) { buckets[c, default: []].append(id) }
    }

    /// Whether any box near `r` satisfies `test`.
    func any(_ r: SVGRect, where test: (Int) -> Bool) -> Bool {
        for c in cells(r) { if let ids = buckets[c], ids.contains(where: test) { return true } }
        return false
    }

    /// How many distinct boxes near `r`, other than `excluded`, satisfy `test`.
    func count(_ r: SVGRect, excluding excluded: Int, where test: (Int) -> Bool) -> Int {
        var seen = Set<Int>()
        for c in cells(r) {
            for id in buckets[c] ?? [] where id != excluded && !seen.contains(id) && test(id) { seen.insert(id) }
        }
        return seen.count
    }
}
