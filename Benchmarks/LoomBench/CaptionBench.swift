import ArgumentParser
import Foundation
import Loom

struct CaptionRow: Codable {
    var backend: String
    var channels: [Int]
    var hidden: Int
    var batch: Int
    var trainingImagesPerSecond: Double
    var greedyImagesPerSecond: Double
    var beamImagesPerSecond: Double
    var beamWidth: Int
}

struct CaptionBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Image captioning: training images/s and captioning images/s on each backend (Fashion-MNIST scenes).")

    @Option(help: "Backends, comma-separated: all, cpu, opencl, opencl:P:D.")
    var devices = "all"
    @Option(help: "CPU threads (default: one per core).")
    var threads: Int?
    @Option(help: "Folder with Fashion-MNIST's IDX files.")
    var fashionMnist = FashionMNIST.defaultDirectory.path
    @Option(help: "Filters of the conv blocks.")
    var channels = "32,64,64"
    @Option(help: "LSTM units.")
    var hidden = 256
    @Option(help: "Captions per step.")
    var batchSize = 64
    @Option(help: "Timed training steps.")
    var steps = 30
    @Option(help: "Images captioned for the decoding rates.")
    var decode = 256
    @Option(help: "Beam width for the beam-search rate.")
    var beam = 3
    @Option(help: "Also write the rows as JSON to this file.")
    var json: String?

    func run() throws {
        let dir = URL(fileURLWithPath: fashionMnist)
        guard FileManager.default.fileExists(atPath: dir.path) else {
            print("note: \(dir.path) not found (Debian's dataset-fashion-mnist); skipping caption")
            return
        }
        let photos = try FashionMNIST.load(train: false, directory: dir)
        let scenes = Scenes.make(count: 2_000, images: photos.images, labels: photos.labels, seed: 1)
        var rows: [CaptionRow] = []
        for be in try openBackends(devices, threads: threads, profiling: false) {
            var c = CaptionConfig()
            c.channels = channels.split(separator: ",").compactMap { Int($0) }
            c.hidden = hidden
            c.batchSize = batchSize
            c.steps = 3 + steps
            let trainer = try CaptionTrainer(train: scenes, valid: [], config: c, backend: be)
            for s in 0..<3 { try trainer.trainStep(s) }
            try be.synchronize()
            var images = 0
            let t0 = DispatchTime.now().uptimeNanoseconds
            for s in 3..<(3 + steps) {
                images += trainer.batch(s).count
                try trainer.trainStep(s)
            }
            try be.synchronize()
            let train = Double(images) / (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            let captioner = Captioner(model: trainer.model, maxLength: 12)
            let pictures = scenes.prefix(decode).map(\.image)
            _ = try captioner.greedy(Array(pictures.prefix(8)))
            let g0 = DispatchTime.now().uptimeNanoseconds
            _ = try captioner.greedy(pictures)
            let greedy = Double(pictures.count) / (Double(DispatchTime.now().uptimeNanoseconds - g0) / 1e9)
            let few = Array(pictures.prefix(max(1, decode / 8)))
            let b0 = DispatchTime.now().uptimeNanoseconds
            for p in few { _ = try captioner.describe(p, decoding: .beam(width: beam, lengthNormalization: true)) }
            let beamRate = Double(few.count) / (Double(DispatchTime.now().uptimeNanoseconds - b0) / 1e9)
            rows.append(CaptionRow(backend: be.name, channels: c.channels, hidden: hidden, batch: batchSize,
                                   trainingImagesPerSecond: train, greedyImagesPerSecond: greedy, beamImagesPerSecond: beamRate,
                                   beamWidth: beam))
            FileHandle.standardError.write(Data("caption on \(be.name): \(Int(train)) images/s\n".utf8))
        }
        print("model: CNN \(channels) on 56×56 → LSTM \(hidden), embedding 64, batch \(batchSize), Adam; "
              + "decoding with the partly trained weights, at most 12 words")
        let header = ["backend", "train images/s", "greedy images/s", "beam \(beam) images/s"]
        let cells = rows.map { r in
            [r.backend, String(format: "%.0f", r.trainingImagesPerSecond), String(format: "%.0f", r.greedyImagesPerSecond),
             String(format: "%.1f", r.beamImagesPerSecond)]
        }
        let widths = header.indices.map { i in ([header[i]] + cells.map { $0[i] }).map(\.count).max()! }
        for c in [header] + cells {
            print(c.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
        if let json { try writeJSON(rows, to: json) }
    }
}
