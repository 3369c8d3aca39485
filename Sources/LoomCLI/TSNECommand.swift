import ArgumentParser
import Foundation
import Loom

extension TSNEConfiguration.Method: ExpressibleByArgument {}
extension TSNEConfiguration.Initialization: ExpressibleByArgument {}

struct TSNECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tsne",
        abstract: "Project the most frequent words to 2-D with t-SNE and draw them as a labelled SVG.",
        discussion: """
        Defaults as scikit-learn and openTSNE: perplexity 30, early exaggeration 12 for 250 iterations, \
        momentum 0.5 then 0.8, learning rate max(N/12, 200), PCA start, 1000 iterations (the course ran 5000). \
        Vectors are L2-normalised first (--no-normalize keeps them). --method auto runs the exact O(N²) \
        gradient on an OpenCL GPU up to 20,000 words and on other devices up to 1,000 words, else \
        Barnes-Hut (θ = 0.5) on the CPU. Ends with `KL divergence: X after N iterations (T s)`.
        """)

    @Argument(help: "Word vectors file (same as --vectors).")
    var file: String?
    @Option(help: "Word vectors file: word2vec binary (.bin) or text, as `loom word2vec train` writes.")
    var vectors: String?
    @Option(help: "How many words: the first N in the file's order (most frequent first), after --skip.")
    var words = 400
    @Option(help: "Leave out the first N words (e.g. UNK).")
    var skip = 0
    @Option(help: "Effective number of neighbours per word; lowered (and said so) when there are too few words.")
    var perplexity: Double = 30
    @Option(help: "Gradient steps, early exaggeration included.")
    var iterations = 1000
    @Option(help: "auto, exact (O(N²), on --device) or barnes-hut (O(N log N), on the CPU).")
    var method: TSNEConfiguration.Method = .auto
    @OptionGroup var device: DeviceOptions
    @Option(help: "Random seed (PCA's start and --init random).")
    var seed: UInt64 = 1
    @Option(help: "SVG picture to write (default: words.svg, unless only --tsv is given).")
    var out: String?
    @Option(help: "Also write the coordinates, one `word<TAB>x<TAB>y` row per word.")
    var tsv: String?
    @Flag(help: "Keep the vectors' lengths instead of L2-normalising them.")
    var noNormalize = false
    @Option(help: "Step size (default: max(N/12, 200)).")
    var learningRate: Float?
    @Option(help: "Factor on P during the first --exaggeration-iterations steps.")
    var earlyExaggeration: Float = 12
    @Option(help: "Steps with early exaggeration (and momentum 0.5).")
    var exaggerationIterations = 250
    @Option(help: "Barnes-Hut accuracy: cells seen under an angle below θ are summarised.")
    var theta: Float = 0.5
    @Option(name: .customLong("init"), help: "Start: pca or random.")
    var initialization: TSNEConfiguration.Initialization = .pca
    @Option(help: "Title of the picture (default: the file name and word count).")
    var title: String?
    @Option(help: "Width and height of the picture in pixels.")
    var size: Double = 1200
    @Option(help: "Label font size in pixels.")
    var fontSize: Double = 11

    func validate() throws {
        if words < 1 { throw ValidationError("--words must be at least 1") }
        if skip < 0 { throw ValidationError("--skip must not be negative") }
        if size < 100 { throw ValidationError("--size must be at least 100 pixels") }
        if !(fontSize > 0) { throw ValidationError("--font-size must be positive") }
        if file == nil && vectors == nil { throw ValidationError("give the word vectors file: loom tsne --vectors FILE") }
        if let file, let vectors, file != vectors {
            throw ValidationError("two vectors files given ('\(file)' and --vectors '\(vectors)'); give one")
        }
    }

    func run() throws {
        let path = (vectors ?? file)!
        let clock = Date()
        let all = try WordVectors.load(from: URL(fileURLWithPath: path))
        guard skip < all.count else {
            throw LoomError.invalidArgument("\(path) holds \(all.count) words; --skip \(skip) leaves none")
        }
        let n = min(words, all.count - skip)
        if n < words {
            writeError("\(path) holds \(all.count) words: using the \(n) after --skip \(skip), not \(words)")
        }
        let chosen = Array(all.words[skip..<(skip + n)])
        let points = Array(all.vectors[(skip * all.dimension)..<((skip + n) * all.dimension)])
        writeError(String(format: "read %d × %d vectors from %@ (%.1f s)", n, all.dimension, path,
                          Date().timeIntervalSince(clock)))

        var config = TSNEConfiguration()
        config.perplexity = perplexity
        config.iterations = iterations
        config.method = method
        config.seed = seed
        config.normalize = !noNormalize
        config.learningRate = learningRate
        config.earlyExaggeration = earlyExaggeration
        config.exaggerationIterations = exaggerationIterations
        config.theta = theta
        config.initialization = initialization
        config.threads = device.threads
        try config.validate()

        let backend = try device.open(hostThreadsUse: "nearest neighbours, affinities, Barnes-Hut")
        let tsne = TSNE(config)
        let resolved = config.resolvedMethod(count: n, backend: backend)
        let place = resolved == .exact ? "on \(backend.name)" : "on the CPU (\(config.threads ?? ProcessInfo.processInfo.activeProcessorCount) threads)"
        writeError("t-SNE of \(n) words: \(resolved) \(place), learning rate \(String(format: "%g", config.learningRate(for: n)))")
        tsne.onNotice = { writeError("note: " + $0) }
        let bar = ProgressBar()
        tsne.onProgress = { p in
            let phase = p.exaggerating ? "  (early exaggeration)" : ""
            bar.update(fraction: Double(p.iteration) / Double(p.totalIterations), elapsed: p.elapsedSeconds,
                       detail: String(format: "iteration %d  KL %.4f%@", p.iteration, p.divergence, phase), force: true)
        }
        let result = try tsne.fit(points: points, count: n, dimension: all.dimension, labels: chosen, backend: backend)
        bar.finish()

        let svgPath = out ?? (tsv == nil ? "words.svg" : nil)
        if let svgPath {
            var plot = ScatterPlot(x: stride(from: 0, to: 2 * n, by: 2).map { Double(result.coordinates[$0]) },
                                   y: stride(from: 1, to: 2 * n, by: 2).map { Double(result.coordinates[$0]) },
                                   labels: chosen,
                                   title: title ?? "t-SNE of \(n) words from \(URL(fileURLWithPath: path).lastPathComponent)")
            plot.width = size
            plot.height = size
            plot.fontSize = fontSize
            let layout = plot.layout()
            try plot.document().write(to: URL(fileURLWithPath: svgPath))
            let placed = n - layout.dropped
            writeError("wrote \(svgPath): \(placed) of \(n) labels placed"
                           + (layout.dropped > 0 ? " (\(layout.dropped) left out where they would overlap; try a larger --size)" : ""))
        }
        if let tsv {
            var text = ""
            for (i, word) in chosen.enumerated() {
                text += "\(word)\t\(result.coordinates[2 * i])\t\(result.coordinates[2 * i + 1])\n"
            }
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: tsv), options: .atomic)
            } catch {
                throw LoomError.io("cannot write \(tsv): \(error.localizedDescription)")
            }
            writeError("wrote \(tsv)")
        }
        print(String(format: "KL divergence: %.4f after %d iterations (%.1f s)", result.divergence, result.iterations,
                     result.seconds))
    }
}
