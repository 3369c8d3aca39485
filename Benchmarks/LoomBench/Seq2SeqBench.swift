import ArgumentParser
import Foundation
import Loom

struct Seq2SeqRow: Codable {
    var task: String
    var attention: String
    var bidirectional: Bool
    var backend: String
    var hidden: Int
    var batch: Int
    var trainingPairsPerSecond: Double
    var greedySequencesPerSecond: Double
    var beamSequencesPerSecond: Double
    var beamWidth: Int
}

struct Seq2SeqBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seq2seq",
        abstract: "Sequence-to-sequence training pairs/s and decoding sequences/s on each backend, per task.")

    @Option(help: "Backends, comma-separated: all, cpu, opencl, opencl:P:D.")
    var devices = "all"
    @Option(help: "CPU threads (default: one per core).")
    var threads: Int?
    @Option(help: "Tasks: reverse-words, g2p, translation (each skipped, visibly, when its data is absent).")
    var tasks = "reverse-words,g2p,translation"
    @Option(help: "Attention kinds: none, dot, general.")
    var attention = "general,none"
    @Option(help: "Shared data folder.")
    var data = "../shared/data"
    @Option(help: "LSTM units.")
    var hidden = 256
    @Flag(inversion: .prefixedNo, help: "The backward encoder too (as the task runs and the PyTorch baseline).")
    var bidirectional = true
    @Option(help: "Pairs per step.")
    var batchSize = 64
    @Option(help: "Timed training steps.")
    var steps = 50
    @Option(help: "Sources decoded for the decoding rates.")
    var decode = 200
    @Option(help: "Beam width for the beam-search rate.")
    var beam = 4
    @Option(help: "Also write the rows as JSON to this file.")
    var json: String?

    func split(_ task: String) throws -> (PairSplit, SequenceUnits, SequenceUnits)? {
        let root = URL(fileURLWithPath: data)
        func have(_ path: String) -> Bool {
            if FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path) { return true }
            print("note: \(root.appendingPathComponent(path).path) not found; skipping \(task)")
            return false
        }
        switch task {
        case "reverse-words":
            guard have("corpus/prose8.txt") else { return nil }
            return (try PairSplit.reverseWords(text: root.appendingPathComponent("corpus/prose8.txt"), windows: 20_000,
                                               seed: 1, maxLength: 100), .char, .char)
        case "g2p":
            guard have("g2p/cmudict.dict") else { return nil }
            return (try PairSplit.g2p(folder: root.appendingPathComponent("g2p")), .char, .symbol)
        case "translation":
            guard have("translation/train.tsv") else { return nil }
            let t = root.appendingPathComponent("translation")
            return (PairSplit(train: try PairFile.read(t.appendingPathComponent("train.tsv")),
                              valid: [], test: try PairFile.read(t.appendingPathComponent("test.tsv"))), .word, .word)
        default: throw ValidationError("unknown task '\(task)': use reverse-words, g2p or translation")
        }
    }

    func run() throws {
        var rows: [Seq2SeqRow] = []
        for task in tasks.split(separator: ",").map(String.init) {
            guard let (split, su, tu) = try split(task) else { continue }
            for kind in attention.split(separator: ",").map(String.init) {
                guard let a = Seq2SeqConfig.AttentionKind(rawValue: kind) else {
                    throw ValidationError("unknown attention '\(kind)': use none, dot or general")
                }
                for be in try openBackends(devices, threads: threads, profiling: false) {
                    var c = Seq2SeqConfig()
                    c.sourceUnits = su
                    c.targetUnits = tu
                    c.hidden = hidden
                    c.batchSize = batchSize
                    c.attention = a
                    c.bidirectional = bidirectional
                    c.steps = 3 + steps
                    let trainer = try Seq2SeqTrainer(train: split.train, valid: [], config: c, backend: be)
                    trainer.reportEvery = c.steps
                    // Warm-up (kernels, workspaces), then the timed steps over the same batches as a run.
                    for s in 0..<3 { try trainer.trainStep(s) }
                    try be.synchronize()
                    var pairs = 0
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    for s in 3..<(3 + steps) {
                        pairs += trainer.batch(s).count
                        try trainer.trainStep(s)
                    }
                    try be.synchronize()
                    let train = Double(pairs) / (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                    let translator = Translator(model: trainer.model)
                    var unknown: [String] = []
                    let sources = try split.test.prefix(decode).map { try translator.encode($0.source, unknown: &unknown) }
                    _ = try translator.greedy(Array(sources.prefix(8)))
                    let g0 = DispatchTime.now().uptimeNanoseconds
                    _ = try translator.greedy(sources)
                    let greedy = Double(sources.count) / (Double(DispatchTime.now().uptimeNanoseconds - g0) / 1e9)
                    let few = Array(sources.prefix(max(1, decode / 10)))
                    let b0 = DispatchTime.now().uptimeNanoseconds
                    for s in few { _ = try translator.decode(s, decoding: .beam(width: beam, lengthNormalization: true)) }
                    let beamRate = Double(few.count) / (Double(DispatchTime.now().uptimeNanoseconds - b0) / 1e9)
                    let row = Seq2SeqRow(task: task, attention: kind, bidirectional: bidirectional, backend: be.name, hidden: hidden, batch: batchSize,
                                         trainingPairsPerSecond: train, greedySequencesPerSecond: greedy,
                                         beamSequencesPerSecond: beamRate, beamWidth: beam)
                    rows.append(row)
                    FileHandle.standardError.write(Data("\(task) \(kind) on \(be.name): \(Int(train)) pairs/s\n".utf8))
                }
            }
        }
        print("model: LSTM \(hidden) encoder\(bidirectional ? "s (both directions)" : "") and decoder, embedding 64, "
              + "batch \(batchSize), Adam; untrained weights for decoding")
        let header = ["task", "attention", "backend", "train pairs/s", "greedy seq/s", "beam \(beam) seq/s"]
        let cells = rows.map { r in
            [r.task, r.attention, r.backend, String(format: "%.0f", r.trainingPairsPerSecond),
             String(format: "%.0f", r.greedySequencesPerSecond), String(format: "%.1f", r.beamSequencesPerSecond)]
        }
        let widths = header.indices.map { i in ([header[i]] + cells.map { $0[i] }).map(\.count).max()! }
        for c in [header] + cells {
            print(c.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
        if let json { try writeJSON(rows, to: json) }
    }
}
