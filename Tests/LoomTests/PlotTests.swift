import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Loom
import XCTest

/// The SVG component: well-formed XML, escaping, label placement, line charts; run logs read
/// back; and, where `rsvg-convert` exists, a real rendering to PNG.
final class PlotTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("loom-plot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// Parses `svg` with XMLParser; returns the text content of every `<text>` element and the
    /// names of all elements, failing the test if the XML is not well-formed.
    func parse(_ svg: String, file: StaticString = #filePath, line: UInt = #line) -> (texts: [String], elements: [String]) {
        final class Collector: NSObject, XMLParserDelegate {
            var texts: [String] = []
            var elements: [String] = []
            var current: String?
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                elements.append(name)
                if name == "text" { current = "" }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { current? += string }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                if name == "text", let c = current { texts.append(c); current = nil }
            }
        }
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        if !parser.parse() {
            XCTFail("not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")", file: file, line: line)
        }
        return (collector.texts, collector.elements)
    }

    func sampleScatter(count: Int = 120, seed: UInt64 = 3) -> ScatterPlot {
        var data = TestData(seed: seed)
        let x = data.uniform(count).map(Double.init), y = data.uniform(count).map(Double.init)
        var labels = (0..<count).map { "word\($0)" }
        labels[0] = "a<b&c>\"d'e"
        labels[1] = "naïve"
        labels[2] = "日本語"
        var plot = ScatterPlot(x: x, y: y, labels: labels, title: "Tom & Jerry <words>")
        plot.width = 700
        plot.height = 700
        return plot
    }

    // MARK: Scatter

    func testScatterIsWellFormedWithEscapedLabels() throws {
        let plot = sampleScatter()
        let svg = plot.document().render()
        let (texts, elements) = parse(svg)
        XCTAssertEqual(elements.first, "svg")
        XCTAssertEqual(elements.filter { $0 == "circle" }.count, 120)
        XCTAssertTrue(texts.contains("a<b&c>\"d'e"), "the escaped label reads back as written")
        XCTAssertTrue(texts.contains("Tom & Jerry <words>"))
        XCTAssertTrue(texts.contains("naïve") && texts.contains("日本語"))
        XCTAssertTrue(svg.contains("a&lt;b&amp;c&gt;&quot;d&apos;e"))
        XCTAssertFalse(svg.contains("a<b&c>"))
        let layout = plot.layout()
        XCTAssertEqual(texts.count, 1 + 120 - layout.dropped, "title plus every placed label")
    }

    func testLabelsDoNotOverlap() throws {
        for (count, size) in [(120, 700.0), (400, 1200.0)] {
            var plot = sampleScatter(count: count, seed: UInt64(count))
            plot.width = size
            plot.height = size
            let layout = plot.layout()
            let boxes = layout.labels.compactMap { $0?.box }
            XCTAssertEqual(boxes.count + layout.dropped, count)
            XCTAssertGreaterThan(boxes.count, count * 3 / 4, "most labels find a place")
            let picture = SVGRect(x: 0, y: 0, width: size, height: size)
            for (a, box) in boxes.enumerated() {
                XCTAssertTrue(picture.contains(box), "label \(a) inside the picture")
                for b in (a + 1)..<boxes.count {
                    XCTAssertFalse(box.intersects(boxes[b]), "labels \(a) and \(b) overlap")
                }
            }
            // Each placed label stays next to its point.
            for (i, placement) in layout.labels.enumerated() {
                guard let placement, let p = layout.points[i] else { continue }
                let cx = min(max(p.x, placement.box.x), placement.box.maxX)
                let cy = min(max(p.y, placement.box.y), placement.box.maxY)
                XCTAssertLessThan(((cx - p.x) * (cx - p.x) + (cy - p.y) * (cy - p.y)).squareRoot(), 20)
            }
        }
    }

    func testEscapingRemovesForbiddenCharacters() {
        XCTAssertEqual(SVGDocument.escape("<&>\"'"), "&lt;&amp;&gt;&quot;&apos;")
        XCTAssertEqual(SVGDocument.escape("a\u{1}b\tc"), "a\u{FFFD}b\tc")
        var doc = SVGDocument(width: 10, height: 10)
        doc.text("x\u{0}y", at: SVGPoint(1, 1), size: 3)
        _ = parse(doc.render())
    }

    func testTextWidthEstimates() {
        XCTAssertEqual(TextMetrics.width("", size: 10), 0)
        XCTAssertGreaterThan(TextMetrics.width("WWW", size: 10), TextMetrics.width("iii", size: 10) * 2)
        XCTAssertEqual(TextMetrics.width("日本", size: 10), 2 * 10 * 1.1, accuracy: 1e-9)
    }

    // MARK: Line charts

    func testLineChartWithTwoSeriesAndLegend() throws {
        let steps = (0..<500).map { Double($0 * 100) }
        let a = LineChart.Series(name: "cpu", x: steps, y: steps.map { 5 * exp(-$0 / 20_000) + 1 })
        var bValues = steps.map { 4.5 * exp(-$0 / 15_000) + 1.1 }
        bValues[10] = .nan  // a gap
        let b = LineChart.Series(name: "opencl & <gpu>", x: steps, y: bValues)
        for scale in [AxisScale.linear, .log] {
            let chart = LineChart(series: [a, b], title: "Loss", xLabel: "step", yLabel: "loss", yScale: scale)
            let svg = chart.document().render()
            let (texts, elements) = parse(svg)
            XCTAssertTrue(texts.contains("cpu") && texts.contains("opencl & <gpu>"), "legend names")
            XCTAssertTrue(texts.contains("Loss") && texts.contains("step") && texts.contains("loss"))
            XCTAssertGreaterThanOrEqual(elements.filter { $0 == "polyline" }.count, 3, "two series, one with a gap")
            XCTAssertTrue(texts.contains("40k") || texts.contains("40000"), "step ticks: \(texts)")
        }
    }

    func testNiceTicks() {
        let t = Ticks.linear(0.13, 9.7)
        XCTAssertEqual(t.values, [0, 2, 4, 6, 8, 10])
        XCTAssertEqual(t.lower, 0)
        XCTAssertEqual(t.upper, 10)
        XCTAssertEqual(Ticks.linear(0, 49_000).values.last, 50_000)
        XCTAssertEqual(Ticks.linear(0, 49_000).label(20_000), "20k")
        XCTAssertEqual(Ticks.linear(0.001, 0.0042).label(0.002), "0.002")
        XCTAssertEqual(Ticks.linear(3, 3).values.count >= 2, true, "a flat line still gets an axis")
        XCTAssertEqual(Ticks.log(2, 3000).values, [10, 100, 1000])
        XCTAssertEqual(Ticks.log(1.2, 30).values, [2, 5, 10, 20])
    }

    func testThinningKeepsExtremes() {
        let points = (0..<10_000).map { SVGPoint(Double($0) / 100, $0 == 5_000 ? 500 : Double($0 % 7)) }
        let thin = LineChart.thin(points, columns: 100)
        XCTAssertLessThan(thin.count, 500)
        XCTAssertTrue(thin.contains(SVGPoint(50, 500)), "the spike survives")
        XCTAssertEqual(thin.first, points.first)
        XCTAssertEqual(thin.last, points.last)
    }

    // MARK: Run logs

    func testRunLogsReadBack() throws {
        let url = folder.appendingPathComponent("run.jsonl")
        let log = try RunLog(url)
        let first = RunRecord(step: 1, elapsed: 0.5, loss: 5.5, learningRate: 0.1, wordsPerSecond: 1e6, words: 1_048_576)
        try log.record(first)
        try log.record(RunRecord(step: 2, loss: .nan, validation: ["valid_perplexity": 40]))
        try log.record(RunRecord(step: 3, loss: 4.25))
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines[0], #"{"elapsed":0.5,"loss":5.5,"lr":0.1,"step":1,"words":1048576,"words_per_sec":1000000}"#)
        XCTAssertEqual(lines[1], #"{"step":2,"valid_perplexity":40}"#, "a non-finite loss is left out")
        let history = try RunLog.read(from: url)
        XCTAssertEqual(history.records.count, 3)
        XCTAssertEqual(history.records[0], first)
        XCTAssertEqual(history.series("loss").x, [1, 3])
        XCTAssertEqual(history.series("loss").y, [5.5, 4.25])
        XCTAssertTrue(history.has("valid_perplexity"))
        XCTAssertEqual(history.records[1].validation, ["valid_perplexity": 40])
    }

    /// Logs of other tools (or older Loom) read too: unknown numbers become metrics, strings,
    /// booleans and nulls are skipped, and `true` is not the step 1.
    func testForeignRunLogLinesReadBack() throws {
        let url = folder.appendingPathComponent("other.jsonl")
        try Data(#"""
            {"step": 1, "loss": 5.5, "lr": 0.1, "note": "start", "ok": true, "valid_bleu": 3.5, "perplexity": null}
            {"step": 2.0, "loss": 4}

            """#.utf8).write(to: url)
        let history = try RunLog.read(from: url)
        XCTAssertEqual(history.records, [RunRecord(step: 1, loss: 5.5, learningRate: 0.1, validation: ["valid_bleu": 3.5]),
                                         RunRecord(step: 2, loss: 4)])
        try Data(#"{"step": true, "loss": 1}"#.utf8).write(to: url)
        assertThrows("line 1 has no whole-number \"step\"") { _ = try RunLog.read(from: url) }
    }

    func testBadRunLogsAreNamedErrors() throws {
        func write(_ name: String, _ text: String) throws -> URL {
            let url = folder.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            return url
        }
        assertThrows("no such file") { _ = try RunLog.read(from: self.folder.appendingPathComponent("missing.jsonl")) }
        let empty = try write("empty.jsonl", "\n  \n")
        assertThrows("is empty") { _ = try RunLog.read(from: empty) }
        let garbage = try write("bad.jsonl", "{\"step\": 1, \"loss\": 2}\nnot json at all\n")
        assertThrows("line 2 is not a JSON object: 'not json at all'") { _ = try RunLog.read(from: garbage) }
        let array = try write("array.jsonl", "[1, 2]\n")
        assertThrows("line 1 is not a JSON object") { _ = try RunLog.read(from: array) }
        let noLoss = try write("noloss.jsonl", "{\"step\": 1, \"loss\": \"low\"}\n{\"step\": 2}\n")
        let noStep = try write("nostep.jsonl", "{\"step\": 1, \"loss\": 2}\n{\"loss\": 3}\n")
        assertThrows("line 2 has no whole-number \"step\"") { _ = try RunLog.read(from: noStep) }
        assertThrows("none of its 2 records has a numeric \"step\" and \"loss\"") { _ = try RunLog.read(from: noLoss) }
    }

    // MARK: Rendering

    func testRendersToPNGWithRsvgConvert() throws {
        guard let tool = ["/usr/bin/rsvg-convert", "/usr/local/bin/rsvg-convert", "/opt/homebrew/bin/rsvg-convert"]
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("rsvg-convert is not installed (Debian: librsvg2-bin); PNG rendering not checked")
        }
        let svgURL = folder.appendingPathComponent("words.svg"), pngURL = folder.appendingPathComponent("words.png")
        try sampleScatter().document().write(to: svgURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-o", pngURL.path, svgURL.path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, "rsvg-convert: \(message)")
        let png = try Data(contentsOf: pngURL)
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "PNG signature")
        // IHDR: width and height, big-endian, at bytes 16 and 20.
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(width, 700)
        XCTAssertEqual(height, 700)
        XCTAssertGreaterThan(png.count, 10_000, "a picture with content, not a blank")
    }
}
