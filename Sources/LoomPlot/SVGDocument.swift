import Foundation

/// A point in SVG user units (pixels): x to the right, y down.
public struct SVGPoint: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public init(_ x: Double, _ y: Double) { self.x = x; self.y = y }
}

/// An axis-aligned rectangle in SVG user units.
public struct SVGRect: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }

    public var maxX: Double { x + width }
    public var maxY: Double { y + height }

    /// Whether the two rectangles share interior area.
    public func intersects(_ o: SVGRect) -> Bool {
        x < o.maxX && o.x < maxX && y < o.maxY && o.y < maxY
    }

    /// Whether `o` lies entirely inside.
    public func contains(_ o: SVGRect) -> Bool {
        o.x >= x && o.maxX <= maxX && o.y >= y && o.maxY <= maxY
    }

    /// The rectangle shrunk by `d` on every side.
    public func inset(by d: Double) -> SVGRect {
        SVGRect(x: x + d, y: y + d, width: max(0, width - 2 * d), height: max(0, height - 2 * d))
    }
}

/// A small SVG scene: shapes and text appended in drawing order, written as one standalone SVG
/// 1.1 file that browsers and `rsvg-convert` read. Every string is escaped for XML.
public struct SVGDocument: Sendable {
    public enum TextAnchor: String, Sendable {
        case start, middle, end
    }

    public let width: Double
    public let height: Double
    /// Font stack for all text (Helvetica's metrics are what `TextMetrics` assumes).
    public var fontFamily = "Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif"
    private var elements: [String] = []
    private var clipCount = 0

    /// An empty document of `width × height` user units, filled with `background` unless nil.
    public init(width: Double, height: Double, background: String? = "white") {
        self.width = width
        self.height = height
        if let background {
            elements.append("<rect x=\"0\" y=\"0\" width=\"\(num(width))\" height=\"\(num(height))\" fill=\"\(xmlEscaped(background))\"/>")
        }
    }

    public mutating func rect(_ r: SVGRect, fill: String? = nil, stroke: String? = nil, strokeWidth: Double = 1,
                              opacity: Double = 1) {
        elements.append("<rect x=\"\(num(r.x))\" y=\"\(num(r.y))\" width=\"\(num(r.width))\" height=\"\(num(r.height))\""
                            + paint(fill: fill, stroke: stroke, strokeWidth: strokeWidth, opacity: opacity) + "/>")
    }

    public mutating func line(_ a: SVGPoint, _ b: SVGPoint, stroke: String, width: Double = 1, dash: String? = nil) {
        elements.append("<line x1=\"\(num(a.x))\" y1=\"\(num(a.y))\" x2=\"\(num(b.x))\" y2=\"\(num(b.y))\""
                            + paint(fill: nil, stroke: stroke, strokeWidth: width, dash: dash) + "/>")
    }

    /// An open path through `points` (nothing for fewer than two).
    public mutating func polyline(_ points: [SVGPoint], stroke: String, width: Double = 1.5, dash: String? = nil,
                                  opacity: Double = 1) {
        guard points.count >= 2 else { return }
        let coordinates = points.map { "\(num($0.x)),\(num($0.y))" }.joined(separator: " ")
        elements.append("<polyline points=\"\(coordinates)\"" + paint(fill: "none", stroke: stroke, strokeWidth: width,
                                                                      opacity: opacity, dash: dash)
                            + " stroke-linejoin=\"round\" stroke-linecap=\"round\"/>")
    }

    public mutating func circle(_ centre: SVGPoint, radius: Double, fill: String, stroke: String? = nil,
                                strokeWidth: Double = 1, opacity: Double = 1) {
        elements.append("<circle cx=\"\(num(centre.x))\" cy=\"\(num(centre.y))\" r=\"\(num(radius))\""
                            + paint(fill: fill, stroke: stroke, strokeWidth: strokeWidth, opacity: opacity) + "/>")
    }

    /// Text with its baseline at `at.y`. `halo` draws a `haloWidth` outline of that colour under
    /// the letters (SVG `paint-order`), which keeps labels legible over points and lines.
    public mutating func text(_ string: String, at: SVGPoint, size: Double, anchor: TextAnchor = .start,
                              fill: String = "#222", weight: String? = nil, halo: String? = nil,
                              haloWidth: Double = 3, rotate: Double? = nil) {
        var attributes = "x=\"\(num(at.x))\" y=\"\(num(at.y))\" font-size=\"\(num(size))\""
        if anchor != .start { attributes += " text-anchor=\"\(anchor.rawValue)\"" }
        attributes += " fill=\"\(xmlEscaped(fill))\""
        if let weight { attributes += " font-weight=\"\(xmlEscaped(weight))\"" }
        if let halo {
            attributes += " stroke=\"\(xmlEscaped(halo))\" stroke-width=\"\(num(haloWidth))\" stroke-linejoin=\"round\""
                + " paint-order=\"stroke\""
        }
        if let rotate { attributes += " transform=\"rotate(\(num(rotate)) \(num(at.x)) \(num(at.y)))\"" }
        elements.append("<text \(attributes)>\(xmlEscaped(string))</text>")
    }

    /// Runs `body` with everything it draws clipped to `rect`.
    public mutating func clipped(to rect: SVGRect, _ body: (inout SVGDocument) -> Void) {
        clipCount += 1
        let id = "clip\(clipCount)"
        elements.append("<clipPath id=\"\(id)\"><rect x=\"\(num(rect.x))\" y=\"\(num(rect.y))\" width=\"\(num(rect.width))\" "
                            + "height=\"\(num(rect.height))\"/></clipPath>")
        elements.append("<g clip-path=\"url(#\(id))\">")
        body(&self)
        elements.append("</g>")
    }

    /// Runs `body` inside a group, with `opacity` applied to all of it.
    public mutating func group(opacity: Double = 1, _ body: (inout SVGDocument) -> Void) {
        elements.append(opacity < 1 ? "<g opacity=\"\(num(opacity))\">" : "<g>")
        body(&self)
        elements.append("</g>")
    }

    /// The standalone SVG file.
    public func render() -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(num(width))\" height=\"\(num(height))\" "
        out += "viewBox=\"0 0 \(num(width)) \(num(height))\" font-family=\"\(xmlEscaped(fontFamily))\">\n"
        for e in elements {
            out += e
            out += "\n"
        }
        out += "</svg>\n"
        return out
    }

    /// Writes `render()` to `url` (atomically).
    public func write(to url: URL) throws {
        do {
            try Data(render().utf8).write(to: url, options: .atomic)
        } catch {
            throw PlotError.io("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    private func paint(fill: String?, stroke: String?, strokeWidth: Double, opacity: Double = 1,
                       dash: String? = nil) -> String {
        var s = " fill=\"\(xmlEscaped(fill ?? "none"))\""
        if let stroke { s += " stroke=\"\(xmlEscaped(stroke))\" stroke-width=\"\(num(strokeWidth))\"" }
        if let dash { s += " stroke-dasharray=\"\(xmlEscaped(dash))\"" }
        if opacity < 1 { s += " opacity=\"\(num(opacity))\"" }
        return s
    }
}

/// Errors of the plotting component, phrased for the person at the terminal.
public enum PlotError: Error, CustomStringConvertible, Equatable {
    case io(String)
    case invalidData(String)

    public var description: String {
        switch self {
        case let .io(m): return m
        case let .invalidData(m): return m
        }
    }
}

extension SVGDocument {
    /// `s` made safe for XML text and attribute values: `& < > " '` become entities, and
    /// characters XML 1.0 forbids (most control characters) become U+FFFD.
    public static func escape(_ s: String) -> String { xmlEscaped(s) }
}

/// See `SVGDocument.escape`.
func xmlEscaped(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for u in s.unicodeScalars {
        switch u {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default:
            let v = u.value
            if (v < 0x20 && v != 0x09 && v != 0x0A && v != 0x0D) || v == 0xFFFE || v == 0xFFFF {
                out += "\u{FFFD}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out
}

/// A coordinate for SVG: at most two decimals, no trailing zeros, never `nan`.
func num(_ x: Double) -> String {
    guard x.isFinite else { return "0" }
    let r = (x * 100).rounded() / 100
    if r == r.rounded() && abs(r) < 1e15 { return String(Int(r)) }
    var s = String(format: "%.2f", r)
    while s.hasSuffix("0") { s.removeLast() }
    return s
}
