import ArgumentParser
import Foundation
import Loom

struct CorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus", abstract: "Fetch, import and inspect training corpora.",
        subcommands: [CorpusDownload.self, CorpusImport.self, CorpusInfo.self])
}

/// Draws download and unpack progress.
func corpusProgress(_ bar: ProgressBar, started: Date) -> (CorpusProgress) -> Void {
    { event in
        let elapsed = Date().timeIntervalSince(started)
        switch event {
        case let .downloading(done, total):
            let fraction = total.map { Double(done) / Double(max($0, 1)) } ?? 0
            bar.update(fraction: fraction, elapsed: elapsed,
                       detail: "downloading \(formatBytes(UInt64(done)))\(total.map { " of \(formatBytes(UInt64($0)))" } ?? "")"
                           + "  \(formatBytes(UInt64(Double(done) / max(elapsed, 1e-3))))/s")
        case let .unpacking(done, total):
            bar.update(fraction: Double(done) / Double(max(total, 1)), elapsed: elapsed,
                       detail: "unpacking \(formatBytes(UInt64(done))) of \(formatBytes(UInt64(total)))")
        }
    }
}

struct CorpusDownload: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a known corpus into the cache ($LOOM_CACHE_DIR, else ~/.cache/loom), check and unpack it.",
        discussion: "Known corpora: " + CorpusCatalog.known.map { "\($0.name) (\($0.url))" }.joined(separator: ", "))

    @Argument(help: "Corpus name, e.g. text8.")
    var name: String

    func run() throws {
        let bar = ProgressBar()
        let url = try CorpusCatalog.download(name, cacheDirectory: CorpusCatalog.defaultCacheDirectory,
                                             progress: corpusProgress(bar, started: Date()))
        bar.finish()
        print("\(name): \(url.path) (use --corpus \(name))")
    }
}

struct CorpusImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Check and unpack a corpus zip you downloaded yourself (e.g. on another machine) into the cache.")

    @Argument(help: "Corpus name, e.g. text8.")
    var name: String
    @Argument(help: "The zip file, e.g. text8.zip.")
    var zip: String

    func run() throws {
        let bar = ProgressBar()
        let url = try CorpusCatalog.importZip(name, from: URL(fileURLWithPath: zip),
                                              cacheDirectory: CorpusCatalog.defaultCacheDirectory,
                                              progress: corpusProgress(bar, started: Date()))
        bar.finish()
        print("\(name): \(url.path) (use --corpus \(name))")
    }
}

struct CorpusInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Count a corpus's words and show its most frequent ones.")

    @Argument(help: "A text file, or the name of a downloaded corpus.")
    var corpus: String
    @Option(help: "Tokens: lowercase or text8.")
    var normalize: TokenNormalization = .lowercase
    @Option(help: "Most frequent words to list.")
    var top = 20
    @Option(help: "Minimum count for the vocabulary figure.")
    var minCount = 5

    func run() throws {
        let url = try CorpusCatalog.resolve(corpus)
        let start = Date()
        let c = try Corpus.load(url, options: CorpusOptions(maxVocabulary: nil, minCount: 1, normalization: normalize,
                                                            outOfVocabulary: .drop))
        let seconds = Date().timeIntervalSince(start)
        let kept = c.vocabulary.counts.filter { $0 >= minCount }.count
        print("\(url.path)")
        print("  \(c.tokenCount) tokens, \(c.distinctWords) distinct words, \(kept) with count ≥ \(minCount) (read in \(String(format: "%.2f", seconds)) s)")
        for (w, n) in zip(c.vocabulary.words, c.vocabulary.counts).prefix(max(0, top)) {
            print("  " + w.padding(toLength: max(16, w.count), withPad: " ", startingAt: 0)
                + String(format: " %10d  %5.2f%%", n, 100 * Double(n) / Double(c.tokenCount)))
        }
    }
}
