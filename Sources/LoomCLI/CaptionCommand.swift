import ArgumentParser
import Foundation
import Loom

struct CaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Image captioning: a CNN reads the picture, an LSTM writes its caption.",
        subcommands: [CaptionScenes.self, CaptionTrain.self, CaptionDescribe.self, CaptionEval.self])
}

struct CaptionScenes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenes",
        abstract: "Write captioned Fashion-MNIST scenes (56×56, one to three articles on a 2×2 grid) as PNG files.",
        discussion: "DIR/train/ uses only the 60,000 training photos, DIR/test/ only the 10,000 test photos; "
            + "each folder gets a captions.tsv (file<TAB>caption).")

    @Option(help: "Output folder.")
    var out: String
    @Option(help: "Training scenes.")
    var train = 60_000
    @Option(help: "Test scenes.")
    var test = 1_000
    @Option(help: "Folder with Fashion-MNIST's IDX files (Debian's dataset-fashion-mnist).")
    var fashionMnist = FashionMNIST.defaultDirectory.path
    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    func validate() throws {
        if train < 0 || test < 0 || train + test == 0 { throw ValidationError("--train and --test must not be negative, nor both 0") }
    }

    func run() throws {
        let dir = URL(fileURLWithPath: out), source = URL(fileURLWithPath: fashionMnist)
        for (name, count, isTrain) in [("train", train, true), ("test", test, false)] where count > 0 {
            let photos = try FashionMNIST.load(train: isTrain, directory: source)
            let scenes = Scenes.make(count: count, images: photos.images, labels: photos.labels,
                                     seed: seed &+ (isTrain ? 0 : 0x7E57), prefix: name + "-")
            try CaptionFile.write(scenes, to: dir.appendingPathComponent(name))
            print("\(name): \(count) scenes in \(dir.appendingPathComponent(name).path) (e.g. \(scenes[0].name): \(scenes[0].captions[0]))")
        }
    }
}

/// An image folder and its captions file.
struct CaptionSource: ParsableArguments {
    @Option(help: "Folder of PNG or JPEG images.")
    var images: String
    @Option(help: "Captions file: image<TAB>caption per line (default: IMAGES/captions.tsv).")
    var captions: String?

    func load(size: Int?) throws -> [CaptionedImage] { try Self.load(images: images, captions: captions, size: size) }

    static func load(images: String, captions: String?, size: Int?) throws -> [CaptionedImage] {
        let folder = URL(fileURLWithPath: images)
        return try CaptionFile.load(images: folder, captions: captions.map { URL(fileURLWithPath: $0) }
                                        ?? folder.appendingPathComponent("captions.tsv"), size: size)
    }
}

struct CaptionTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a captioner (Show and Tell: CNN → initial state of an LSTM decoder).",
        discussion: "`loom caption scenes --out scenes && loom caption train --images scenes/train --checkpoint c.ckpt` "
            + "trains on the Fashion-MNIST scenes with the defaults.")

    @OptionGroup var data: CaptionSource
    @Option(help: "Validation image folder (default: --valid-fraction of the training images).")
    var validImages: String?
    @Option(help: "Validation captions file (default: VALID_IMAGES/captions.tsv).")
    var validCaptions: String?
    @Option(help: "Fraction of the images held out for validation when there is no --valid-images.")
    var validFraction = 0.02
    @Option(help: "Side the images are resized to.")
    var size = 56
    @Option(help: "Filters of the conv 3×3 → ReLU → max-pool 2×2 blocks, comma-separated.")
    var channels = "32,64,64"
    @Option(help: "LSTM units per layer.")
    var hidden = 256
    @Option(help: "Word embedding width.")
    var embedding = 64
    @Option(help: "Stacked LSTM layers in the decoder.")
    var layers = 1
    @Option(help: "Captions per step.")
    var batchSize = 64
    @Option(help: "Training steps (default 3000; or until --max-minutes).")
    var steps: Int?
    @Option(help: "Epochs (instead of --steps).")
    var epochs: Int?
    @Option(help: "sgd or adam.")
    var optimizer: Seq2SeqConfig.Optimizer = .adam
    @Option(help: "Learning rate.")
    var lr: Float = 0.002
    @Option(help: "Multiply the rate by this every --decay-every steps.")
    var decay: Float = 0.5
    @Option(help: "Steps between decays (0: never).")
    var decayEvery = 1500
    @Option(help: "Clip the global norm of the gradients to this (0: off).")
    var clip: Float = 5
    @Option(help: "Dropout on the word embeddings and the decoder outputs.")
    var dropout: Float = 0
    @Option(help: "Dropout on the CNN's features before they set the decoder's initial state.")
    var featureDropout: Float = 0
    @Option(help: "L2 weight decay on the weight matrices.")
    var l2: Float = 0
    @Option(help: "Longest caption in words.")
    var maxLength = 40
    @Option(help: "Steps between validations (0: only at the end).")
    var evalEvery = 500
    @Option(help: "Steps between training-loss reports.")
    var reportEvery = 100
    @Option(help: "Stop cleanly after this many minutes (validation and checkpoint at that step).")
    var maxMinutes: Double?
    @OptionGroup var device: DeviceOptions
    @Option(help: "Random seed.")
    var seed: UInt64 = 1
    @OptionGroup var files: RunFileOptions

    func validate() throws {
        if steps != nil && epochs != nil { throw ValidationError("give --steps or --epochs, not both") }
        if let maxMinutes, !(maxMinutes > 0) { throw ValidationError("--max-minutes must be positive") }
        if !(validFraction >= 0 && validFraction < 1) { throw ValidationError("--valid-fraction must be in [0, 1)") }
        if channels.split(separator: ",").contains(where: { Int($0.trimmingCharacters(in: .whitespaces)) == nil }) {
            throw ValidationError("--channels must be comma-separated integers, e.g. 32,64,64")
        }
    }

    func run() throws {
        var c = CaptionConfig()
        c.imageSize = size
        c.channels = channels.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces))! }
        c.hidden = hidden
        c.embedding = embedding
        c.layers = layers
        c.batchSize = batchSize
        c.optimizer = optimizer
        c.learningRate = lr
        c.decay = decay
        c.decayEvery = decayEvery
        c.clip = clip
        c.dropout = dropout
        c.featureDropout = featureDropout
        c.l2 = l2
        c.maxLength = maxLength
        c.seed = seed
        try c.validate()
        var train = try data.load(size: size), valid: [CaptionedImage] = []
        if let validImages {
            valid = try CaptionSource.load(images: validImages, captions: validCaptions, size: size)
        } else if validFraction > 0 {
            var rng = SeededGenerator(seed: seed ^ 0xF01D)
            train.shuffle(using: &rng)
            let n = max(1, Int(Double(train.count) * validFraction))
            guard n < train.count else { throw ValidationError("too few images to hold out --valid-fraction \(validFraction)") }
            valid = Array(train.prefix(n))
            train = Array(train.dropFirst(n))
        }
        let examples = train.reduce(0) { $0 + $1.captions.count }
        let perEpoch = (examples + batchSize - 1) / batchSize
        c.steps = steps ?? epochs.map { $0 * perEpoch } ?? 3000
        let backend = try device.open()
        let trainer = try CaptionTrainer(train: train, valid: valid, config: c, backend: backend)
        trainer.distribute(over: Job.current)
        trainer.reportEvery = max(1, reportEvery)
        trainer.evalEvery = evalEvery
        trainer.maxSeconds = maxMinutes.map { $0 * 60 }
        writeError("images: \(train.count) training (\(examples) captions), \(valid.count) validation; vocabulary \(trainer.model.vocabulary.count) words")
        writeError("model: CNN \(c.channels.map(String.init).joined(separator: "-")) on \(size)×\(size) → \(c.layers) × \(c.hidden) LSTM, "
                   + "\(trainer.model.parameterCount) parameters; \(c.steps) steps of \(c.batchSize) captions")
        try files.apply(to: trainer)
        let bar = ProgressBar()
        let limit = maxMinutes.map { $0 * 60 }
        trainer.onProgress = { p in
            let loss = p.loss.map { String(format: "loss %.4f", $0) } ?? "loss –"
            var fraction = Double(p.step) / Double(max(p.totalSteps, 1))
            if let limit { fraction = max(fraction, p.elapsedSeconds / limit) }
            bar.update(fraction: fraction, elapsed: p.elapsedSeconds,
                       detail: "step \(p.step)  \(String(format: "%.0f", p.examplesPerSecond)) images/s  \(loss)", force: true)
        }
        trainer.onValidation = { step, m in
            bar.message(String(format: "step %d: validation loss %.4f, exact %.1f%%, BLEU-4 %.1f", step, m[0].1, 100 * m[1].1, m[2].1))
        }
        let summary = try trainer.run()
        bar.finish()
        guard Job.isRoot else { return }
        if let m = summary.validation {
            print(String(format: "validation: loss %.4f, exact match %.2f%%, BLEU-4 %.2f at step %d (%.0f images/s%@)",
                         m[0].1, 100 * m[1].1, m[2].1, summary.steps, summary.imagesPerSecond,
                         summary.stoppedByTime ? ", stopped by --max-minutes" : ""))
        } else {
            print(String(format: "trained %d steps (%.0f images/s)", summary.steps, summary.imagesPerSecond))
        }
    }
}

extension CaptionTrainer: CheckpointedTrainer {}

struct CaptionDescribe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe", abstract: "Caption PNG or JPEG images, one line each: file<TAB>caption.")

    @Option(help: "A checkpoint written by `loom caption train`.")
    var checkpoint: String
    @OptionGroup var decoding: DecodingOptions
    @OptionGroup var device: DeviceOptions
    @Argument(help: "PNG or JPEG images.")
    var images: [String]

    func validate() throws { if images.isEmpty { throw ValidationError("give at least one image") } }

    func run() throws {
        let backend = try device.open(quiet: true)
        let model = try CaptionTrainer.loadModel(from: URL(fileURLWithPath: checkpoint), backend: backend)
        let pictures = try images.map { try GrayImage.read(URL(fileURLWithPath: $0)) }
        let captioner = Captioner(model: model, maxLength: decoding.maxOutput)
        for (name, out) in zip(images, try captioner.describe(pictures, decoding: decoding.decoding)) {
            print("\(name)\t\(out.text)")
        }
    }
}

struct CaptionEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Score a captioner on captioned images: exact match and BLEU-4 (as sacrebleu), per length.")

    @Option(help: "A checkpoint written by `loom caption train`.")
    var checkpoint: String
    @OptionGroup var data: CaptionSource
    @OptionGroup var decoding: DecodingOptions
    @OptionGroup var device: DeviceOptions
    @Option(help: "Example captions to print.")
    var examples = 5
    @Option(help: "Write the scores and examples as JSON here.")
    var json: String?
    @Option(help: "Draw a grid of the first test images with their captions as an SVG here.")
    var grid: String?

    func run() throws {
        let backend = try device.open(quiet: true)
        let model = try CaptionTrainer.loadModel(from: URL(fileURLWithPath: checkpoint), backend: backend)
        let test = try data.load(size: model.config.imageSize)
        let start = DispatchTime.now().uptimeNanoseconds
        let outputs = try Captioner(model: model, maxLength: decoding.maxOutput).describe(test.map(\.image), decoding: decoding.decoding)
            .map(\.text)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        for i in 0..<min(examples, test.count) {
            print("\(test[i].name)\n  reference: \(test[i].captions[0])\n  output:    \(outputs[i])")
        }
        let r = Scoring.report(outputs, test.map(\.captions))
        // By the number of words of the first reference.
        var byLength: [Int: (Int, Int)] = [:]
        for (i, item) in test.enumerated() {
            let n = Tokens.split(item.captions[0], .symbol).count
            let (hits, count) = byLength[n, default: (0, 0)]
            byLength[n] = (hits + (item.captions.contains(outputs[i]) ? 1 : 0), count + 1)
        }
        for (n, v) in byLength.sorted(by: { $0.key < $1.key }) {
            print(String(format: "  %d words: exact %.1f%% (%d/%d)", n, 100 * Double(v.0) / Double(v.1), v.0, v.1))
        }
        print(String(format: "captioned %d images in %.1f s (%.0f images/s)", test.count, seconds, Double(test.count) / seconds))
        print(String(format: "exact match: %.2f%% (%d/%d)", 100 * r.exactMatch, r.exact, r.count))
        print(String(format: "BLEU-4: %.2f", r.bleu))
        if let grid {
            try AtomicFileWriter.write(Data(CaptionGrid.svg(Array(zip(test, outputs).prefix(12))).utf8), to: URL(fileURLWithPath: grid))
            writeError("grid of \(min(12, test.count)) images in \(grid)")
        }
        if let json {
            let record: [String: Any] = [
                "checkpoint": checkpoint, "images": r.count, "exact": r.exactMatch, "bleu": r.bleu,
                "decoding": decoding.greedy ? "greedy" : "beam \(decoding.beam ?? 4)", "images_per_sec": Double(test.count) / seconds,
                "examples": zip(test, outputs).prefix(12).map { ["image": $0.0.name, "reference": $0.0.captions[0], "output": $0.1] },
            ]
            let data = try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys])
            try AtomicFileWriter.write(data, to: URL(fileURLWithPath: json))
        }
    }
}

/// A grid of images with their generated captions, as SVG with the pictures embedded as PNG.
enum CaptionGrid {
    static func svg(_ items: [(CaptionedImage, String)], columns: Int = 4) -> String {
        let cell = 220, picture = 112, rows = (items.count + columns - 1) / columns
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(columns * cell)\" height=\"\(rows * 180)\" "
            + "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        for (i, (item, caption)) in items.enumerated() {
            let x = (i % columns) * cell, y = (i / columns) * 180
            let png = (try? item.image.pngData()) ?? Data()
            out += "<image x=\"\(x + (cell - picture) / 2)\" y=\"\(y + 8)\" width=\"\(picture)\" height=\"\(picture)\" "
                + "style=\"image-rendering:pixelated\" href=\"data:image/png;base64,\(png.base64EncodedString())\"/>\n"
            let right = item.captions.contains(caption)
            // Captions wrap at their commas.
            for (j, part) in caption.components(separatedBy: " , ").enumerated() {
                out += "<text x=\"\(x + cell / 2)\" y=\"\(y + picture + 24 + 13 * j)\" text-anchor=\"middle\" "
                    + "fill=\"\(right ? "#1a7f37" : "#cf222e")\">\(escape(part))</text>\n"
            }
        }
        return out + "</svg>\n"
    }
}
