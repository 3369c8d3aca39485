import ArgumentParser
import Foundation
import Loom

struct LSTMRow: Codable {
    var configuration: String
    var backend: String
    var stepsPerSecond: Double
    var charactersPerSecond: Double
    var generationCharactersPerSecond: Double
    var finalLoss: Double?
    /// Device time per training step by kernel family (OpenCL profiling events), milliseconds.
    var breakdownMilliseconds: [String: Double]?
}

struct LSTMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lstm",
        abstract: "Character-LSTM training and generation speed on each backend, with a per-kernel breakdown on OpenCL.")

    @Option(help: "Training text (default: ../shared/data/corpus/prose8.txt; random text if absent).")
    var text = "../shared/data/corpus/prose8.txt"
    @Option(help: "Backends, comma-separated: all, cpu, opencl, opencl:P:D.")
    var devices = "all"
    @Option(help: "CPU threads (default: one per core).")
    var threads: Int?
    @Option(help: "Configurations: course (B 64, H 64, T 10), large (B 128, H 512, T 50), large10 (T 10).")
    var configs = "course,large"
    @Option(help: "Timed training steps (course configuration; the large ones take a tenth, at least 5).")
    var steps = 500
    @Option(help: "Characters to generate for the generation rate.")
    var generate = 300
    @Option(help: "Also write the rows as JSON to this file.")
    var json: String?

    func config(_ name: String) throws -> CharLSTMConfig {
        var c = CharLSTMConfig()
        c.validSize = 0
        switch name {
        case "course": break
        case "large", "large10":
            c.batchSize = 128
            c.hidden = 512
            c.unrollings = name == "large" ? 50 : 10
            c.initialization = .glorot
            c.learningRate = 1
        default: throw ValidationError("unknown configuration '\(name)': use course, large or large10")
        }
        return c
    }

    func run() throws {
        let corpus: CharacterText
        if FileManager.default.fileExists(atPath: text) {
            // The first 10 MB are plenty for a speed test.
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: text))
            let head = try handle.read(upToCount: 10_000_000) ?? Data()
            try handle.close()
            corpus = try CharacterText.encode(String(decoding: head, as: UTF8.self), alphabet: .text8)
        } else {
            var rng = SeededGenerator(seed: 1)
            let letters = Array("abcdefghijklmnopqrstuvwxyz     ")
            print("note: \(text) not found; timing on random text")
            corpus = try CharacterText.encode(String((0..<2_000_000).map { _ in letters[Int(rng.next() % 31)] }), alphabet: .text8)
        }
        var rows: [LSTMRow] = []
        for name in configs.split(separator: ",").map(String.init) {
            let c = try config(name)
            let n = name == "course" ? steps : max(5, steps / 10)
            for be in try openBackends(devices, threads: threads, profiling: true) {
                let row = try measure(name, c, steps: n, corpus: corpus, backend: be)
                rows.append(row)
                FileHandle.standardError.write(Data("\(name) on \(be.name): \(Int(row.stepsPerSecond)) steps/s\n".utf8))
            }
        }
        print("text: \(text); characters per step = batch × unrollings")
        let header = ["configuration", "backend", "steps/s", "train chars/s", "gen chars/s", "loss", "device ms/step: gemm / gates / softmax / other"]
        let cells = rows.map { r -> [String] in
            let b: String = r.breakdownMilliseconds.map { d -> String in
                ["gemm", "gates", "softmax", "other"].map { String(format: "%.3f", d[$0] ?? 0) }.joined(separator: " / ")
            } ?? "–"
            return [r.configuration, r.backend, String(format: "%.1f", r.stepsPerSecond), String(format: "%.0f", r.charactersPerSecond),
                    String(format: "%.0f", r.generationCharactersPerSecond), r.finalLoss.map { String(format: "%.3f", $0) } ?? "–", b]
        }
        let widths = header.indices.map { i in ([header[i]] + cells.map { $0[i] }).map(\.count).max()! }
        for c in [header] + cells {
            print(c.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
        if let json { try writeJSON(rows, to: json) }
    }

    func measure(_ name: String, _ c: CharLSTMConfig, steps: Int, corpus: CharacterText, backend be: any Backend) throws -> LSTMRow {
        let model = try CharLSTM(config: c, alphabet: corpus.alphabet, backend: be)
        let ws = try model.workspace(batch: c.batchSize, steps: c.unrollings, training: true)
        let batches = TextBatches(ids: corpus.ids, batch: c.batchSize, unrollings: c.unrollings,
                                  alphabetSize: corpus.alphabet.count, bigram: false)
        var inputs: [Int32] = [], labels: [Int32] = []
        func step(_ s: Int) throws {
            batches.segment(s, inputs: &inputs, labels: &labels)
            try model.upload(inputs: inputs, labels: labels, into: ws)
            try model.trainStep(ws, step: s)
        }
        // Warm-up (kernel compilation, caches), then timed steps.
        for s in 0..<3 { try step(s) }
        try be.synchronize()
        let opencl = be as? OpenCLBackend
        _ = try opencl?.takeProfile()
        let start = DispatchTime.now().uptimeNanoseconds
        for s in 3..<(3 + steps) { try step(s) }
        try be.synchronize()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var breakdown: [String: Double]?
        if let events = try opencl?.takeProfile(), !events.isEmpty {
            var totals: [String: Double] = [:]
            for e in events {
                let family: String
                if e.name.contains("gemm") { family = "gemm" }
                else if e.name.hasPrefix("lstm_gates") { family = "gates" }
                else if e.name.hasPrefix("softmax") { family = "softmax" }
                else { family = "other" }
                totals[family, default: 0] += Double(e.nanoseconds) / 1e6 / Double(steps)
            }
            breakdown = totals
        }
        let loss = try model.takeLoss(ws)
        // Generation: sampling, one character at a time.
        let generator = CharLSTMGenerator(model: model)
        _ = try generator.generate(prime: "the ", length: 20, decoding: .sample(temperature: 1))
        let g0 = DispatchTime.now().uptimeNanoseconds
        _ = try generator.generate(prime: "the ", length: generate, decoding: .sample(temperature: 1))
        let genSeconds = Double(DispatchTime.now().uptimeNanoseconds - g0) / 1e9
        _ = try opencl?.takeProfile()
        return LSTMRow(configuration: "\(name) (B \(c.batchSize), H \(c.hidden), T \(c.unrollings))", backend: be.name,
                       stepsPerSecond: Double(steps) / seconds,
                       charactersPerSecond: Double(steps * c.batchSize * c.unrollings) / seconds,
                       generationCharactersPerSecond: Double(generate) / genSeconds, finalLoss: loss,
                       breakdownMilliseconds: breakdown)
    }
}
