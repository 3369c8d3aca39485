import ArgumentParser
import Foundation
import Loom

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw training curves from run logs (the JSON lines `--log` writes) as an SVG chart.",
        discussion: """
        Loss against step, one line per run, named after its file; a second panel shows the validation \
        perplexity when a log has "valid_perplexity". Give several logs to compare runs (CPU against \
        OpenCL, two learning rates).
        """)

    @Argument(help: "Run logs: one JSON object per line with \"step\" and \"loss\".")
    var runs: [String] = []
    @Option(help: "SVG file to write.")
    var out = "loss.svg"
    @Option(help: "Title of the chart.")
    var title: String?
    @Option(help: "Names of the runs in the legend, comma-separated (default: the file names).")
    var labels: String?
    @Flag(help: "Logarithmic loss axis.")
    var logY = false
    @Option(help: "Moving average over this many records before drawing (1: none).")
    var smooth = 1
    @Option(help: "Width of the picture in pixels.")
    var width: Double = 820
    @Option(help: "Height of each panel in pixels.")
    var panelHeight: Double = 420

    func validate() throws {
        if runs.isEmpty { throw ValidationError("give at least one run log: loom plot RUN.jsonl… --out loss.svg") }
        if smooth < 1 { throw ValidationError("--smooth must be at least 1") }
        if width < 200 || panelHeight < 150 { throw ValidationError("the picture needs at least 200 × 150 pixels") }
    }

    func run() throws {
        let histories = try runs.map { try RunLog.read(from: URL(fileURLWithPath: $0)) }
        let names = try legendNames()
        func lines(_ key: String) -> [LineChart.Series] {
            zip(histories, names).compactMap { history, name in
                let (x, y) = history.series(key)
                guard !x.isEmpty else { return nil }
                return LineChart.Series(name: name, x: x, y: movingAverage(y))
            }
        }
        var panels = [LineChart(series: lines("loss"), title: title ?? "Training loss", xLabel: "step",
                                yLabel: "loss", yScale: logY ? .log : .linear)]
        if histories.contains(where: { $0.has("valid_perplexity") }) {
            panels.append(LineChart(series: lines("valid_perplexity"), title: "Validation perplexity", xLabel: "step",
                                    yLabel: "perplexity", yScale: logY ? .log : .linear))
        }
        // Sequence-to-sequence and captioning runs: exact match, chrF or BLEU of greedy outputs on validation data.
        if histories.contains(where: { $0.has("valid_exact") }) {
            panels.append(LineChart(series: lines("valid_exact"), title: "Validation exact match", xLabel: "step",
                                    yLabel: "fraction exact", yScale: .linear))
        }
        if histories.contains(where: { $0.has("valid_chrf") }) {
            panels.append(LineChart(series: lines("valid_chrf"), title: "Validation chrF", xLabel: "step",
                                    yLabel: "chrF", yScale: .linear))
        }
        if histories.contains(where: { $0.has("valid_bleu") }) {
            panels.append(LineChart(series: lines("valid_bleu"), title: "Validation BLEU-4", xLabel: "step",
                                    yLabel: "BLEU", yScale: .linear))
        }
        // Frames one above the other, aligned.
        let left = panels.map { $0.requiredLeftMargin() }.max() ?? 0
        for k in panels.indices { panels[k].leftMargin = left }
        var doc = SVGDocument(width: width, height: panelHeight * Double(panels.count))
        for (k, panel) in panels.enumerated() {
            panel.draw(into: &doc, in: SVGRect(x: 0, y: panelHeight * Double(k), width: width, height: panelHeight))
        }
        try doc.write(to: URL(fileURLWithPath: out))
        let points = histories.map { $0.series("loss").x.count }
        print("wrote \(out): \(panels.compactMap(\.title).joined(separator: ", ").lowercased()) of \(runs.count) "
                  + "run\(runs.count == 1 ? "" : "s") (\(points.map(String.init).joined(separator: ", ")) points)")
    }

    /// Legend names: `--labels`, else the file names without extension (with their folder when two clash).
    func legendNames() throws -> [String] {
        if let labels {
            let names = labels.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard names.count == runs.count else {
                throw LoomError.invalidArgument("--labels names \(names.count) runs, but \(runs.count) logs were given")
            }
            return names
        }
        let short = runs.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
        return zip(short, runs).map { name, path in
            short.filter { $0 == name }.count > 1 ? path : name
        }
    }

    func movingAverage(_ y: [Double]) -> [Double] {
        guard smooth > 1, !y.isEmpty else { return y }
        var out = [Double](repeating: 0, count: y.count)
        var sum = 0.0
        for i in y.indices {
            sum += y[i]
            if i >= smooth { sum -= y[i - smooth] }
            out[i] = sum / Double(min(i + 1, smooth))
        }
        return out
    }
}
