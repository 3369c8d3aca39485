import ArgumentParser
import Foundation
import Loom

struct Word2VecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "word2vec", abstract: "Train word2vec embeddings (skip-gram or CBOW).",
        subcommands: [Word2VecTrain.self])
}


enum VectorsOutputFormat: String, ExpressibleByArgument, CaseIterable {
    case bin, txt, tsv
}

struct Word2VecTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train word vectors on a corpus and write them in word2vec's format.",
        discussion: """
        Defaults follow the course (TensorFlow's 5_word2vec): skip-gram, skip-window 1, num-skips 2, \
        batch 128, dim 128, sampled softmax with 64 log-uniform samples, Adagrad with learning rate 1.0. \
        --window N switches to word2vec's dynamic window with subsampling (--sample 1e-3); with \
        --loss negative it is word2vec's skip-gram (or CBOW) with SGD at 0.025 (0.05) decaying linearly.
        """)

    @Option(help: "Corpus: a text file, or `text8` once `loom corpus download text8` has fetched it.")
    var corpus: String
    @Option(help: "Where to write the vectors (the vocabulary goes beside it as VECTORS.vocab).")
    var output: String
    @Option(help: "Vectors format: bin (word2vec binary), txt (word2vec text) or tsv (a folder with TensorBoard projector vectors.tsv + metadata.tsv).")
    var format: VectorsOutputFormat = .bin
    @Option(help: "skipgram or cbow.")
    var model: Word2VecConfig.Model = .skipgram
    @Option(help: "Embedding dimension.")
    var dim = 128
    @Option(help: "Course batching: context words on each side of the centre.")
    var skipWindow = 1
    @Option(help: "Course batching: (centre, context) pairs drawn per centre word.")
    var numSkips = 2
    @Option(help: "word2vec batching: the largest window (shrunk at random per centre); replaces --skip-window.")
    var window: Int?
    @Option(help: "sampled (sampled softmax), negative (negative sampling) or softmax (full softmax).")
    var loss: Word2VecConfig.Loss = .sampled
    @Option(help: "Sampled classes per batch (sampled) or negatives per pair (negative). Default 64 / 5.")
    var numSampled: Int?
    @Option(help: "Largest vocabulary, UNK included; the rest map to UNK (or are dropped, see --oov).")
    var maxVocab = 50_000
    @Option(help: "Leave out words seen fewer times.")
    var minCount = 5
    @Option(help: "Out-of-vocabulary words: unk (map to UNK, the course) or drop (word2vec). Default: unk, drop with --window.")
    var oov: CorpusOptions.OutOfVocabulary?
    @Option(help: "Tokens: lowercase (split on whitespace) or text8 (a-z only, digits spelled out).")
    var normalize: TokenNormalization = .lowercase
    @Option(help: "Subsampling threshold of frequent words (0 = off). Default 0, or 1e-3 with --window.")
    var sample: Double?
    @Option(help: "Passes over the corpus.")
    var epochs = 1
    @Option(help: "Train this many steps instead of --epochs.")
    var steps: Int?
    @Option(help: "Examples per step (pairs for skip-gram, centre words for CBOW). Default 128, or 512 pairs for skip-gram with --window.")
    var batchSize: Int?
    @Option(help: "adagrad or sgd (linear decay). Default: adagrad, sgd with --loss negative.")
    var optimizer: Word2VecConfig.Optimizer?
    @Option(help: "Learning rate. Default 1.0 (adagrad), 0.025 / 0.05 (sgd, skip-gram / CBOW).")
    var lr: Float?
    @Flag(help: "CBOW: add the context vectors instead of averaging them.")
    var cbowSum = false
    @OptionGroup var device: DeviceOptions
    @Option(help: "Random seed.")
    var seed: UInt64 = 1
    @Option(help: "Append a JSON line per report to this file (for `loom plot`).")
    var log: String?
    @Option(help: "Write TensorBoard event files (loss, words/s, learning rate) into this folder.")
    var tensorboard: String?
    @Option(help: "Checkpoint file, written atomically every --save-every steps and at the end.")
    var checkpoint: String?
    @Option(help: "Steps between checkpoints (default 10000; 20 on the fused path, whose steps are about a million words).")
    var saveEvery: Int?
    @Option(help: "Continue the run saved in this checkpoint.")
    var resume: String?
    @Option(help: "Steps between loss reports (default 2000; 1 on the fused path).")
    var reportEvery: Int?
    @Option(help: "Steps between nearest-neighbour printouts of 16 frequent words (0: never; default 10000, 50 on the fused path).")
    var evalEvery: Int?
    @Option(help: "Fused path (negative sampling, --window, sgd): sentences trained at once without locks; 1 is deterministic. Default: every thread (CPU), 8 work-groups per compute unit (OpenCL).")
    var workers: Int?
    @Option(help: "Under mpirun: each rank trains on its shard, and the ranks average their models every this many words per rank (Ji et al., 2016).")
    var syncWords = 1 << 20
    @Option(help: "Folder for the corpus's id stream, written once and memory-mapped (default: $LOOM_CACHE_DIR/ids, else ~/.cache/loom/ids).")
    var idCache: String?
    @Flag(help: "Hold the id stream in memory instead (4 bytes a word; nothing is written to the cache).")
    var noIDCache = false

    func makeConfig() -> Word2VecConfig {
        var c = Word2VecConfig.defaults(model: model, loss: loss, window: window)
        if window == nil { c.batching = .course(skipWindow: skipWindow, numSkips: numSkips) }
        c.dimension = dim
        if let batchSize { c.batchSize = batchSize }
        if let numSampled { c.numSampled = numSampled }
        if let sample { c.sample = sample }
        if let optimizer {
            c.optimizer = optimizer
            if lr == nil { c.learningRate = optimizer == .adagrad ? 1.0 : (model == .skipgram ? 0.025 : 0.05) }
        }
        if let lr { c.learningRate = lr }
        c.cbowMean = !cbowSum
        c.epochs = epochs
        c.steps = steps
        c.seed = seed
        return c
    }

    func run() throws {
        let config = makeConfig()
        let corpusURL = try CorpusCatalog.resolve(corpus)
        var options = CorpusOptions(maxVocabulary: maxVocab, minCount: minCount, normalization: normalize)
        options.outOfVocabulary = oov ?? (window == nil ? .unknown : .drop)

        let clock = Date()
        writeError("reading \(corpusURL.path)…")
        let cache = idCache.map { URL(fileURLWithPath: $0) }
            ?? CorpusCatalog.defaultCacheDirectory.appendingPathComponent("ids")
        func load() throws -> Corpus {
            noIDCache ? try Corpus.load(corpusURL, options: options) : try Corpus.load(corpusURL, options: options, cache: cache)
        }
        // In a job, rank 0 writes the id cache while the others wait, then they map it (or, on
        // machines without a shared cache, build their own).
        if Job.size > 1 && !noIDCache && !Job.isRoot { try Job.current.barrier() }
        let whole = try load()
        if Job.size > 1 && !noIDCache && Job.isRoot { try Job.current.barrier() }
        // In a job of several ranks each trains on its own shard (whole sentences) of the corpus.
        let corpus = Job.size > 1 ? whole.shard(Shard(Job.current)) : whole
        writeError(String(format: "corpus: %@ tokens, %@ distinct words, vocabulary %d (%.1f s%@)",
                          formatCount(Double(whole.tokenCount)), formatCount(Double(whole.distinctWords)),
                          whole.vocabulary.count, Date().timeIntervalSince(clock),
                          whole.ids.isMapped ? ", ids mapped from \(cache.path)" : ""))
        let backend = try device.open()
        let trainer = try Word2VecTrainer(corpus: corpus, config: config, backend: backend)
        try trainer.distribute(over: Job.current, syncWords: syncWords)
        if Job.size > 1 {
            writeRankError("shard of \(corpus.ids.count) words; models averaged every \(formatCount(Double(syncWords))) words")
        }
        writeError("training: \(config.summary)")
        let fused = config.usesFusedPass
        trainer.reportEvery = max(1, reportEvery ?? (fused ? 1 : 2000))
        let evalEvery = self.evalEvery ?? (fused ? 50 : 10_000)
        trainer.evalEvery = evalEvery > 0 ? evalEvery : nil
        if let workers { trainer.workers = workers }
        if let resume {
            try trainer.resume(from: URL(fileURLWithPath: resume))
            writeError("resumed from \(resume)")
        }
        trainer.log = Job.isRoot ? try runRecorder(log: log, tensorboard: tensorboard, appending: resume != nil) : nil
        if let checkpoint {
            trainer.checkpointURL = URL(fileURLWithPath: checkpoint)
            trainer.saveEvery = max(1, saveEvery ?? (fused ? 20 : 10_000))
        }

        let bar = ProgressBar()
        trainer.onProgress = { p in
            let loss = p.loss.map { String(format: "loss %.4f", $0) } ?? "loss –"
            bar.update(fraction: p.fraction, elapsed: p.elapsedSeconds,
                       detail: "step \(p.step)  \(formatCount(p.wordsPerSecond)) words/s  \(loss)  lr \(String(format: "%.4g", p.learningRate))",
                       force: true)
        }
        trainer.onEvaluation = { step, rows in
            bar.message("nearest neighbours at step \(step):")
            for (word, nearest) in rows {
                bar.message("  \(word): " + nearest.map(\.word).joined(separator: ", "))
            }
        }
        let summary = try trainer.run()
        bar.finish()
        if Job.size > 1 {
            let cost = trainer.averagingCost
            writeRankError(String(format: "trained %d words; %d model averages took %.2f s of %.2f s",
                                  trainer.wordsTrained, cost.count, cost.seconds, summary.seconds))
        }
        guard Job.isRoot else { return }

        let vectors = try trainer.model.wordVectors()
        let outURL = URL(fileURLWithPath: output)
        switch format {
        case .bin: try vectors.write(to: outURL, format: .binary)
        case .txt: try vectors.write(to: outURL, format: .text)
        case .tsv:
            try vectors.writeProjector(to: outURL)
        }
        try corpus.vocabulary.write(to: URL(fileURLWithPath: output + ".vocab"))
        print(String(format: "trained %d steps, %@ words in %.1f s (%@ words/s%@), final loss %@; vectors: %@",
                     summary.steps, formatCount(Double(summary.wordsDone)), summary.seconds,
                     formatCount(summary.wordsPerSecond), Job.size > 1 ? " on \(Job.size) ranks" : "",
                     summary.finalLoss.map { String(format: "%.4f", $0) } ?? "–", output))
    }
}
