import ArgumentParser
import Foundation
import Loom

extension SequenceUnits: ExpressibleByArgument {}
extension Seq2SeqConfig.AttentionKind: ExpressibleByArgument {}
extension Seq2SeqConfig.Optimizer: ExpressibleByArgument {}

struct Seq2SeqCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seq2seq",
        abstract: "Sequence to sequence: an encoder LSTM reads, a decoder LSTM (with attention) writes.",
        subcommands: [Seq2SeqTrain.self, Seq2SeqTranslate.self, Seq2SeqEval.self, Seq2SeqPairs.self])
}

/// The built-in tasks, each a way to make pairs and the settings that suit it.
enum Seq2SeqTask: String, ExpressibleByArgument, CaseIterable {
    /// The course's exercise: windows of words with every word's letters reversed.
    case reverseWords = "reverse-words"
    /// Grapheme to phoneme on the CMU Pronouncing Dictionary.
    case g2p
}

/// Where pairs come from: a pairs file or a task.
struct PairSource: ParsableArguments {
    @Option(help: "Pairs file: source<TAB>target[<TAB>more references] per line.")
    var pairs: String?
    @Option(help: "A built-in task instead of a pairs file: reverse-words (needs --text) or g2p (needs --dictionary).")
    var task: Seq2SeqTask?
    @Option(help: "reverse-words: the text whose words are mirrored (train on its first 90%, test on the rest).")
    var text: String?
    @Option(help: "g2p: the folder with cmudict.dict, test-words.txt and valid-words.txt.")
    var dictionary: String?
    @Option(help: "reverse-words: training windows to cut.")
    var windows = 300_000

    func validate() throws {
        if (pairs == nil) == (task == nil) { throw ValidationError("give one of --pairs and --task") }
        if task == .reverseWords && text == nil { throw ValidationError("--task reverse-words needs --text PATH") }
        if task == .g2p && dictionary == nil { throw ValidationError("--task g2p needs --dictionary FOLDER") }
        if windows < 1 { throw ValidationError("--windows must be at least 1") }
    }

    /// Training, validation and test pairs. For a pairs file, test is the file itself.
    func load(validPairs: String?, validFraction: Double, seed: UInt64, maxLength: Int = 100) throws -> PairSplit {
        switch task {
        case .reverseWords?:
            return try PairSplit.reverseWords(text: URL(fileURLWithPath: text!), windows: windows, seed: seed,
                                              maxLength: maxLength)
        case .g2p?:
            return try PairSplit.g2p(folder: URL(fileURLWithPath: dictionary!))
        case nil:
            return try PairSplit.file(URL(fileURLWithPath: pairs!), valid: validPairs.map { URL(fileURLWithPath: $0) },
                                      validFraction: validFraction, seed: seed)
        }
    }
}

struct Seq2SeqTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an encoder–decoder on pairs or a built-in task.",
        discussion: """
        The defaults suit the tasks: `loom seq2seq train --task reverse-words --text prose8.txt --checkpoint m.ckpt` \
        alone trains the course's word-mirroring exercise; `--task g2p --dictionary ../shared/data/g2p` learns \
        pronunciations (letters in, ARPAbet phonemes out).
        """)

    @OptionGroup var data: PairSource
    @Option(help: "Units of both sides: char, word, bpe (subwords) or symbol (space-separated symbols). Default: char; g2p: char → symbol.")
    var units: SequenceUnits?
    @Option(help: "Byte-pair merges learned per side for --units bpe.")
    var merges = 2_000
    @Option(help: "Stacked LSTM layers in the encoder and the decoder.")
    var layers = 1
    @Option(help: "LSTM units per layer.")
    var hidden = 256
    @Option(help: "Embedding width of the source and target symbols.")
    var embedding = 64
    @Option(help: "none, dot or general (Luong et al., 2015).")
    var attention: Seq2SeqConfig.AttentionKind = .general
    @Flag(inversion: .prefixedNo, help: "Add an encoder that reads each source backwards (outputs and final states summed).")
    var bidirectional = true
    @Option(help: "Pairs per step.")
    var batchSize = 64
    @Option(help: "Training steps (default: reverse-words 6000, g2p 12000, pairs files 2 epochs; or until --max-minutes).")
    var steps: Int?
    @Option(help: "Epochs (instead of --steps).")
    var epochs: Int?
    @Option(help: "sgd or adam.")
    var optimizer: Seq2SeqConfig.Optimizer = .adam
    @Option(help: "Learning rate.")
    var lr: Float = 0.002
    @Option(help: "Multiply the rate by this every --decay-every steps.")
    var decay: Float = 0.5
    @Option(help: "Steps between decays (0: never; default: reverse-words 2500, g2p 8000, pairs files 0).")
    var decayEvery: Int?
    @Option(help: "Clip the global norm of the gradients to this (0: off).")
    var clip: Float = 5
    @Option(help: "Dropout on the embeddings and LSTM outputs (off at evaluation; default: g2p 0.1, else 0).")
    var dropout: Float?
    @Option(help: "L2 weight decay on the weight matrices.")
    var l2: Float = 0
    @Option(help: "While training, replace each source symbol and each symbol fed to the decoder by <unk> with this probability.")
    var wordDropout: Float = 0
    @Option(help: "Longest source or target in tokens; longer pairs are refused.")
    var maxLength = 100
    @Option(help: "Symbols kept per side; rarer ones become <unk>.")
    var maxVocab = 30_000
    @Option(help: "Validation pairs file (default: --valid-fraction of the pairs, or the task's own).")
    var validPairs: String?
    @Option(help: "Fraction of a pairs file held out for validation when there is no --valid-pairs.")
    var validFraction = 0.05
    @Option(help: "Steps between validations (0: only at the end).")
    var evalEvery = 1000
    @Option(help: "Steps between training-loss reports.")
    var reportEvery = 100
    @Option(help: "Stop cleanly after this many minutes (validation and checkpoint at that step).")
    var maxMinutes: Double?
    @OptionGroup var device: DeviceOptions
    @Option(help: "Random seed.")
    var seed: UInt64 = 1
    @OptionGroup var files: RunFileOptions
    @Option(help: "Also keep the checkpoint with the best validation chrF here (early stopping).")
    var best: String?

    func validate() throws {
        if steps != nil && epochs != nil { throw ValidationError("give --steps or --epochs, not both") }
        if let maxMinutes, !(maxMinutes > 0) { throw ValidationError("--max-minutes must be positive") }
        if !(validFraction >= 0 && validFraction < 1) { throw ValidationError("--valid-fraction must be in [0, 1)") }
    }

    func run() throws {
        var c = Seq2SeqConfig()
        c.sourceUnits = units ?? .char
        c.targetUnits = units ?? (data.task == .g2p ? .symbol : .char)
        c.layers = layers
        c.hidden = hidden
        c.embedding = embedding
        c.attention = attention
        c.bidirectional = bidirectional
        c.batchSize = batchSize
        c.optimizer = optimizer
        c.learningRate = lr
        c.decay = decay
        switch data.task {
        case .reverseWords?: c.decayEvery = decayEvery ?? 2500
        case .g2p?: c.decayEvery = decayEvery ?? 8000
        case nil: c.decayEvery = decayEvery ?? 0
        }
        c.clip = clip
        c.dropout = dropout ?? (data.task == .g2p ? 0.1 : 0)
        c.l2 = l2
        c.wordDropout = wordDropout
        c.merges = merges
        c.maxLength = maxLength
        c.maxVocabulary = maxVocab
        c.seed = seed
        let split = try data.load(validPairs: validPairs, validFraction: validFraction, seed: seed, maxLength: maxLength)
        let perEpoch = (split.train.count + batchSize - 1) / max(batchSize, 1)
        switch (steps, epochs, data.task) {
        case let (s?, _, _): c.steps = s
        case let (nil, e?, _): c.steps = perEpoch * e
        case (nil, nil, .reverseWords?): c.steps = 6000
        case (nil, nil, .g2p?): c.steps = 12000
        case (nil, nil, nil): c.steps = perEpoch * 2
        }
        let backend = try device.open()
        let trainer = try Seq2SeqTrainer(train: split.train, valid: split.valid, config: c, backend: backend)
        trainer.distribute(over: Job.current)
        trainer.reportEvery = max(1, reportEvery)
        trainer.evalEvery = evalEvery
        trainer.maxSeconds = maxMinutes.map { $0 * 60 }
        writeError("pairs: \(split.train.count) training, \(split.valid.count) validation; vocabularies: "
                   + "\(trainer.model.source.count) source, \(trainer.model.target.count) target symbols")
        writeError("model: \(c.layers) × \(c.hidden) LSTM encoder and decoder, attention \(c.attention.rawValue)\(c.bidirectional ? ", bidirectional" : ""), "
                   + "\(trainer.model.parameterCount) parameters; \(c.steps) steps of \(c.batchSize) pairs")
        try files.apply(to: trainer)
        trainer.bestURL = best.map { URL(fileURLWithPath: $0) }
        let bar = ProgressBar()
        let limit = maxMinutes.map { $0 * 60 }
        trainer.onProgress = { p in
            let loss = p.loss.map { String(format: "loss %.4f", $0) } ?? "loss –"
            // With a time budget, the bar shows whichever ends first.
            var fraction = Double(p.step) / Double(max(p.totalSteps, 1))
            if let limit { fraction = max(fraction, p.elapsedSeconds / limit) }
            bar.update(fraction: fraction, elapsed: p.elapsedSeconds,
                       detail: "step \(p.step)  \(String(format: "%.0f", p.examplesPerSecond)) pairs/s  \(loss)", force: true)
        }
        trainer.onValidation = { step, m in
            bar.message(String(format: "step %d: validation loss %.4f, exact %.1f%%, chrF %.1f", step, m[0].1,
                               100 * m[1].1, m[2].1))
        }
        let summary = try trainer.run()
        bar.finish()
        guard Job.isRoot else { return }
        if let m = summary.validation {
            print(String(format: "validation: loss %.4f, exact match %.2f%%, chrF %.2f at step %d (%.0f pairs/s%@)",
                         m[0].1, 100 * m[1].1, m[2].1, summary.steps, summary.pairsPerSecond,
                         summary.stoppedByTime ? ", stopped by --max-minutes" : ""))
        } else {
            print(String(format: "trained %d steps (%.0f pairs/s)", summary.steps, summary.pairsPerSecond))
        }
        if let b = trainer.best, let best {
            print(String(format: "best validation chrF %.2f at step %d, kept in %@", b.chrF, b.step, best))
        }
    }
}

struct Seq2SeqTranslate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate", abstract: "Translate texts (arguments, or lines from standard input), one output line each.")

    @Option(help: "A checkpoint written by `loom seq2seq train`.")
    var checkpoint: String
    @OptionGroup var decoding: DecodingOptions
    @OptionGroup var device: DeviceOptions
    @Argument(help: "Texts to translate (default: every line of standard input).")
    var texts: [String] = []

    func run() throws {
        let backend = try device.open(quiet: true)
        let model = try Seq2SeqTrainer.loadModel(from: URL(fileURLWithPath: checkpoint), backend: backend)
        let translator = Translator(model: model, maxLength: decoding.maxOutput)
        var lines = texts
        if lines.isEmpty {
            while let line = readLine() { lines.append(line) }
        }
        var unknown: [String] = []
        let sources = try lines.map { try translator.encode($0, unknown: &unknown) }
        if !unknown.isEmpty {
            let list = Array(Set(unknown)).sorted().prefix(10).joined(separator: ", ")
            writeError("note: \(unknown.count) unknown words became <unk>: \(list)")
        }
        for out in try translator.translate(sources, decoding: decoding.decoding) { print(out.text) }
    }
}

struct Seq2SeqEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Score a model on test pairs: exact match, chrF and BLEU (as sacrebleu), error rates.")

    @Option(help: "A checkpoint written by `loom seq2seq train`.")
    var checkpoint: String
    @OptionGroup var data: PairSource
    @OptionGroup var decoding: DecodingOptions
    @Option(help: "Example outputs to print.")
    var examples = 5
    @Option(help: "Score only the first N pairs.")
    var limit: Int?
    @Option(help: "Also write the scores, settings and examples as JSON to this file.")
    var json: String?
    @OptionGroup var device: DeviceOptions

    func run() throws {
        let backend = try device.open(quiet: true)
        let model = try Seq2SeqTrainer.loadModel(from: URL(fileURLWithPath: checkpoint), backend: backend)
        let split = try data.load(validPairs: nil, validFraction: 0, seed: model.config.seed)
        var test = split.test
        if let limit { test = Array(test.prefix(max(0, limit))) }
        let translator = Translator(model: model, maxLength: decoding.maxOutput)
        var unknown: [String] = []
        let sources = try test.map { try translator.encode($0.source, unknown: &unknown) }
        let start = DispatchTime.now().uptimeNanoseconds
        let outputs = try translator.translate(sources, decoding: decoding.decoding).map(\.text)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        for i in 0..<min(examples, test.count) {
            print("source: \(test[i].source)\n  reference: \(test[i].target)\n  output:    \(outputs[i])")
        }
        let r = Scoring.report(outputs, test.map(\.references))
        // By source length (in tokens), to see whether longer inputs hold up.
        var byLength: [Int: (Int, Int)] = [:]
        var record: [String: Any] = [:]
        for (i, p) in test.enumerated() {
            let n = Tokens.split(p.source, model.source.units).count
            let bucket = model.source.units == .char ? (n / 10) * 10 : n
            let hit = p.references.contains(outputs[i]) ? 1 : 0
            let (hits, count) = byLength[bucket, default: (0, 0)]
            byLength[bucket] = (hits + hit, count + 1)
        }
        let unit = model.source.units == .char ? "characters" : "tokens"
        for (n, v) in byLength.sorted(by: { $0.key < $1.key }) {
            let label = model.source.units == .char ? "\(n)–\(n + 9)" : "\(n)"
            print(String(format: "  length %@ %@: exact %.1f%% (%d/%d)", label, unit, 100 * Double(v.0) / Double(v.1), v.0, v.1))
        }
        var groups: [[String: Any]] = []
        for g in split.testGroups where g.range.upperBound <= test.count {
            let part = Scoring.report(Array(outputs[g.range]), test[g.range].map(\.references))
            print(String(format: "  %@: exact %.2f%% (%d/%d), character accuracy %.2f%%", g.name, 100 * part.exactMatch,
                         part.exact, part.count, 100 * part.characterAccuracy))
            groups.append(["name": g.name, "exact": part.exactMatch, "count": part.count,
                           "character_accuracy": part.characterAccuracy, "chrf": part.chrF])
        }
        record["groups"] = groups
        if !unknown.isEmpty { writeError("note: \(unknown.count) unknown source words became <unk>") }
        print(String(format: "decoded %d sources in %.1f s (%.0f sequences/s)", test.count, seconds, Double(test.count) / seconds))
        print(String(format: "exact match: %.2f%% (%d/%d)", 100 * r.exactMatch, r.exact, r.count))
        print(String(format: "character accuracy: %.2f%%", 100 * r.characterAccuracy))
        if model.target.units == .symbol {
            print(String(format: "WER: %.2f%%", 100 * r.wordErrorRate))
            print(String(format: "PER: %.2f%%", 100 * r.symbolErrorRate))
        }
        print(String(format: "chrF: %.2f", r.chrF))
        print(String(format: "BLEU: %.2f", r.bleu))
        if let json {
            let c = model.config
            record["checkpoint"] = checkpoint
            record["task"] = data.task?.rawValue ?? data.pairs ?? ""
            record["decoding"] = decoding.greedy ? "greedy" : "beam \(decoding.beam ?? 4)"
            record["model"] = ["layers": c.layers, "hidden": c.hidden, "embedding": c.embedding,
                               "attention": c.attention.rawValue, "units": "\(c.sourceUnits.rawValue)→\(c.targetUnits.rawValue)",
                               "parameters": model.parameterCount] as [String: Any]
            record["pairs"] = r.count
            record["exact"] = r.exactMatch
            record["character_accuracy"] = r.characterAccuracy
            record["wer"] = r.wordErrorRate
            record["per"] = r.symbolErrorRate
            record["chrf"] = r.chrF
            record["bleu"] = r.bleu
            record["decode_seconds"] = seconds
            record["by_length"] = byLength.sorted { $0.key < $1.key }.map { ["from": $0.key, "exact": $0.value.0, "count": $0.value.1] }
            record["examples"] = (0..<min(max(examples, 10), test.count)).map {
                ["source": test[$0].source, "reference": test[$0].target, "output": outputs[$0]]
            }
            let data = try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys])
            try AtomicFileWriter.write(data, to: URL(fileURLWithPath: json))
        }
    }
}

struct Seq2SeqPairs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pairs",
        abstract: "Write a task's training, validation and test pairs as pairs files, to look at or to train other tools on.")

    @OptionGroup var data: PairSource
    @Option(help: "Folder for train.tsv, valid.tsv and test.tsv.")
    var out: String
    @Option(help: "Longest training source kept, in characters (reverse-words).")
    var maxLength = 100
    @Option(help: "Random seed of the training windows.")
    var seed: UInt64 = 1

    func run() throws {
        let split = try data.load(validPairs: nil, validFraction: 0.05, seed: seed, maxLength: maxLength)
        let folder = URL(fileURLWithPath: out, isDirectory: true)
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw LoomError.io("cannot create \(out): \(error.localizedDescription)")
        }
        for (name, pairs) in [("train", split.train), ("valid", split.valid), ("test", split.test)] {
            try PairSplit.write(pairs, to: folder.appendingPathComponent("\(name).tsv"))
            print("\(name).tsv: \(pairs.count) pairs")
        }
    }
}
