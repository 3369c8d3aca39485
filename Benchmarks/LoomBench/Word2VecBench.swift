import ArgumentParser
import Foundation
import Loom

/// Peak resident memory of this process, bytes (Linux reports `ru_maxrss` in KiB).
func peakRSS() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

struct Word2VecRow: Codable {
    var configuration: String
    var backend: String
    var vocabulary: Int
    var words: Int
    var seconds: Double
    var wordsPerSecond: Double
    var finalLoss: Double?
    var peakRSSMiB: Double
    /// words/s of every repeat; `wordsPerSecond` and `seconds` are those of the median one.
    var repeatsWordsPerSecond: [Double]?
}

struct Word2VecBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "word2vec",
        abstract: "Training words/s of the course configuration and word2vec's default, on each backend.")

    @Option(help: "Corpus (default: ../shared/data/corpus/prose8.txt).")
    var corpus = "../shared/data/corpus/prose8.txt"
    @Option(help: "Train on the first N words of the corpus (0: all).")
    var words = 1_000_000
    @Option(help: "Backends, comma-separated: all, cpu, opencl, opencl:P:D.")
    var devices = "all"
    @Option(help: "CPU threads (default: one per core).")
    var threads: Int?
    @Option(help: "Configurations: course, word2vec, cbow, or scaling (sampled softmax at vocabularies 10k, 50k, 200k).")
    var configs = "course,word2vec"
    @Option(help: "Timed runs per configuration and backend; the median is reported (shared machines drift between runs).")
    var repeats = 1
    @Option(help: "Also write the rows as JSON to this file.")
    var json: String?

    func run() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        let url = URL(fileURLWithPath: corpus)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ValidationError("corpus \(corpus) not found (the benchmark needs ../shared/data; pass --corpus)")
        }
        // A slice of the corpus: the first `words` words, written to a temporary file.
        let source = try sliceCorpus(url, words: words)
        let backends = try openBackends(devices, threads: threads, profiling: false)
        var rows: [Word2VecRow] = []
        for name in configs.split(separator: ",").map(String.init) {
            for (label, config, options, synthetic) in try configurations(name) {
                let corpus = try Corpus.load(synthetic ?? source, options: options)
                for be in backends {
                    // Warm-up: compiles the kernels (and CLBlast's) outside the timed run.
                    var warm = config
                    warm.steps = 20
                    _ = try Word2VecTrainer(corpus: corpus, config: warm, backend: be).run()
                    var runs: [TrainingSummary] = []
                    for _ in 0..<repeats {
                        let trainer = try Word2VecTrainer(corpus: corpus, config: config, backend: be)
                        trainer.evalEvery = nil
                        trainer.reportEvery = 1_000_000_000
                        runs.append(try trainer.run())
                    }
                    let s = runs.sorted { $0.wordsPerSecond < $1.wordsPerSecond }[runs.count / 2]
                    let row = Word2VecRow(configuration: label, backend: be.name, vocabulary: corpus.vocabulary.count,
                                          words: s.wordsDone, seconds: s.seconds, wordsPerSecond: s.wordsPerSecond,
                                          finalLoss: s.finalLoss, peakRSSMiB: Double(peakRSS()) / 1_048_576,
                                          repeatsWordsPerSecond: runs.map(\.wordsPerSecond))
                    rows.append(row)
                    FileHandle.standardError.write(Data("\(label) on \(be.name): \(Int(s.wordsPerSecond)) words/s\n".utf8))
                }
            }
        }
        print("corpus: \(corpus), first \(words) words; " + backends.map { "\($0.name) = \($0.deviceDescription)" }.joined(separator: "; "))
        let header = ["configuration", "backend", "vocab", "words", "seconds", "words/s", "loss", "peak RSS MiB"]
        let cells = rows.map { r in
            [r.configuration, r.backend, "\(r.vocabulary)", "\(r.words)", String(format: "%.2f", r.seconds),
             String(format: "%.0f", r.wordsPerSecond), r.finalLoss.map { String(format: "%.3f", $0) } ?? "–",
             String(format: "%.0f", r.peakRSSMiB)]
        }
        let widths = header.indices.map { i in ([header[i]] + cells.map { $0[i] }).map(\.count).max()! }
        for c in [header] + cells {
            print(c.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
        if let json { try writeJSON(rows, to: json) }
    }

    func configurations(_ name: String) throws -> [(String, Word2VecConfig, CorpusOptions, URL?)] {
        switch name {
        case "course":
            // 5_word2vec.ipynb: batch 128, dim 128, skip_window 1, num_skips 2, 64 samples, Adagrad 1.0.
            var c = Word2VecConfig.defaults(model: .skipgram, loss: .sampled, window: nil)
            c.seed = 1
            return [("course skip-gram (window 1, sampled 64)", c, CorpusOptions(maxVocabulary: 50_000, minCount: 1), nil)]
        case "word2vec":
            // word2vec's defaults: -cbow 0 -window 5 -negative 5 -sample 1e-3 -min-count 5 -alpha 0.025.
            let c = Word2VecConfig.defaults(model: .skipgram, loss: .negative, window: 5)
            return [("word2vec skip-gram (window 5, negative 5)", c,
                     CorpusOptions(maxVocabulary: nil, minCount: 5, outOfVocabulary: .drop), nil)]
        case "cbow":
            let c = Word2VecConfig.defaults(model: .cbow, loss: .negative, window: 5)
            return [("word2vec CBOW (window 5, negative 5)", c,
                     CorpusOptions(maxVocabulary: nil, minCount: 5, outOfVocabulary: .drop), nil)]
        case "scaling":
            // Synthetic Zipfian corpora with exactly V distinct words: the sampled-softmax step
            // touches B + S rows whatever V is, so words/s should not depend on V.
            return try [10_000, 50_000, 200_000].map { v in
                var c = Word2VecConfig.defaults(model: .skipgram, loss: .sampled, window: nil)
                c.steps = 5000
                return ("sampled softmax, vocabulary \(v / 1000)k", c, CorpusOptions(maxVocabulary: v, minCount: 1),
                        try zipfCorpus(words: v))
            }
        default:
            throw ValidationError("unknown configuration '\(name)': use course, word2vec, cbow or scaling")
        }
    }

    /// 2M tokens over `words` distinct words, ranked log-uniformly (Zipf-like), every word present.
    func zipfCorpus(words: Int) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("loom-zipf-\(words).txt")
        var rng = SeededGenerator(seed: UInt64(words))
        let sampler = LogUniformSampler(range: words)
        var text = ""
        text.reserveCapacity(16_000_000)
        for w in 0..<words { text += "w\(w) " }
        for _ in 0..<2_000_000 { text += "w\(sampler.draw(&rng)) " }
        try Data(text.utf8).write(to: url)
        return url
    }

    /// The first `words` words of `url` in a temporary file (the whole file when 0).
    func sliceCorpus(_ url: URL, words: Int) throws -> URL {
        guard words > 0 else { return url }
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        var seen = 0, inWord = false, end = data.count
        for (i, b) in data.enumerated() {
            let space = b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D
            if !space && !inWord {
                seen += 1
                if seen > words { end = i; break }
            }
            inWord = !space
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bench-\(words).txt")
        try data.prefix(end).write(to: out)
        return out
    }
}

/// Reading a corpus: time and peak memory, for a corpus repeated `times` over (same vocabulary,
/// `times`× the words), to show that memory grows with the id stream only.
struct CorpusBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Read a corpus repeated N times: seconds, words/s and peak RSS (run once per N: RSS is per process).")

    @Option(help: "Corpus (default: ../shared/data/corpus/prose8.txt).")
    var corpus = "../shared/data/corpus/prose8.txt"
    @Option(help: "How many copies of the corpus to read, one after another.")
    var times = 1

    func run() throws {
        let source = URL(fileURLWithPath: corpus)
        guard FileManager.default.fileExists(atPath: source.path) else { throw ValidationError("corpus \(corpus) not found") }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("loom-corpus-x\(times).txt")
        if times > 1 {
            // Written in 1 MiB pieces so building the file does not itself raise this process's RSS.
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else { throw ValidationError("cannot write \(url.path)") }
            let out = try FileHandle(forWritingTo: url)
            for _ in 0..<times {
                let input = try FileHandle(forReadingFrom: source)
                while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { try out.write(contentsOf: chunk + Data(" ".utf8)) }
                try input.close()
            }
            try out.close()
        }
        let path = times > 1 ? url : source
        let before = peakRSS()
        let start = Date()
        let c = try Corpus.load(path, options: CorpusOptions(maxVocabulary: 50_000, minCount: 1))
        let seconds = Date().timeIntervalSince(start)
        let bytes = (try FileManager.default.attributesOfItem(atPath: path.path)[.size] as? Int) ?? 0
        print(String(format: "copies %d: %d tokens (%.0f MB of text), vocabulary %d, %.2f s (%.1fM words/s), "
                     + "peak RSS %.0f MiB (before reading %.0f MiB; id stream %.0f MiB)",
                     times, c.tokenCount, Double(bytes) / 1e6, c.vocabulary.count, seconds,
                     Double(c.tokenCount) / seconds / 1e6, Double(peakRSS()) / 1_048_576, Double(before) / 1_048_576,
                     Double(c.ids.count * 4) / 1_048_576))
        if times > 1 { try? FileManager.default.removeItem(at: url) }
    }
}
