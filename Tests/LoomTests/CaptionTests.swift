import Foundation
import Loom
import XCTest

/// The captioner learns, decodes through the shared decoder, checkpoints and resumes exactly; its
/// gradients match finite differences; images and captions files are read and refused clearly.
final class CaptionTests: XCTestCase {
    let be = TestBackends.cpu

    /// 16×16 pictures with bright 8×8 squares in some quadrants, captioned in reading order.
    func squares(_ n: Int, seed: UInt64) -> [CaptionedImage] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { i in
            var picture = GrayImage(width: 16, height: 16)
            let mask = 1 + Int(rng.next() % 15)
            var words: [String] = []
            for cell in 0..<4 where mask & (1 << cell) != 0 {
                let shade = UInt8(150 + rng.next() % 100)
                picture.paste(GrayImage(width: 8, height: 8, pixels: [UInt8](repeating: shade, count: 64)), x: cell % 2 * 8, y: cell / 2 * 8)
                words.append(Scenes.cells[cell])
            }
            return CaptionedImage(name: "s\(i).png", image: picture, captions: [words.joined(separator: " and ")])
        }
    }

    func tinyConfig() -> CaptionConfig {
        var c = CaptionConfig()
        c.imageSize = 16
        c.channels = [6, 8]
        c.hidden = 32
        c.embedding = 8
        c.batchSize = 32
        c.learningRate = 0.01
        c.steps = 400
        c.decayEvery = 0
        c.seed = 5
        return c
    }

    func testLearnsTinyCaptionsExactlyAndBeamOfOneIsGreedy() throws {
        let train = squares(600, seed: 1), test = squares(60, seed: 2)
        let trainer = try CaptionTrainer(train: train, valid: Array(test.prefix(10)), config: tinyConfig(), backend: be)
        trainer.evalEvery = 0
        let summary = try trainer.run()
        let captioner = Captioner(model: trainer.model)
        let greedy = try captioner.greedy(test.map(\.image))
        let report = Scoring.report(greedy.map(\.text), test.map(\.captions))
        XCTAssertEqual(report.exactMatch, 1, "\(report.exact)/\(report.count) exact, e.g. \(test[0].captions[0]) → \(greedy[0].text); "
                       + "loss \(summary.trainingLoss ?? .nan)")
        for i in 0..<5 {
            let beam = try captioner.describe(test[i].image, decoding: .beam(width: 1, lengthNormalization: false))
            XCTAssertEqual(beam.ids, greedy[i].ids)
            XCTAssertEqual(beam.logProbability, greedy[i].logProbability, accuracy: 1e-4)
            XCTAssertEqual(try captioner.describe(test[i].image, decoding: .beam(width: 3, lengthNormalization: true)).text, test[i].captions[0])
        }
    }

    /// Every parameter's gradient — the CNN, the dense initial-state layers, embedding, LSTM,
    /// dropout on the features and in the decoder, softmax with padding — against central differences of the model's own loss.
    func testWholeModelGradientsMatchFiniteDifferences() throws {
        var c = tinyConfig()
        c.imageSize = 8
        c.channels = [3, 4]
        c.hidden = 5
        c.embedding = 3
        c.layers = 2
        c.dropout = 0.2
        c.featureDropout = 0.3
        let vocabulary = SequenceVocabulary(units: .symbol, symbols: ["<unk>", "<s>", "</s>", "a", "b"])
        let model = try CaptionModel(config: c, vocabulary: vocabulary, backend: be)
        var data = TestData(seed: 4)
        let images = (0..<3).map { _ in GrayImage(width: 8, height: 8, pixels: data.uniform(64, 0, 255).map { UInt8($0) }) }
        let ws = try model.workspace(batch: 3, steps: 4, training: true)
        try model.upload(images: images, captions: [[3, 4, 3], [4], [3, 3]], into: ws)
        func loss() throws -> Double {
            try model.forward(ws, training: true, step: 2)
            return try model.takeLoss(ws)!
        }
        let center = try loss()
        try model.backward(ws, step: 2)
        let analytic = try be.floats(model.store.gradients)
        var values = try be.floats(model.store.values)
        var checked = 0, kinks = 0
        for i in stride(from: 0, to: values.count, by: max(1, values.count / 200)) {
            let v = values[i], eps: Float = 5e-3
            values[i] = v + eps
            try be.upload(values, to: model.store.values)
            let up = try loss()
            values[i] = v - eps
            try be.upload(values, to: model.store.values)
            let down = try loss()
            values[i] = v
            // A ReLU or a pooling window that changes its maximum inside ±eps bends the loss:
            // the one-sided slopes then disagree, and a central difference means nothing there.
            let right = (up - center) / Double(eps), left = (center - down) / Double(eps)
            if abs(right - left) > 2e-3 + 0.1 * abs(right + left) { kinks += 1; continue }
            let numeric = (up - down) / Double(2 * eps)
            let err = abs(numeric - Double(analytic[i]))
            XCTAssertLessThanOrEqual(err, 2e-3 + 2e-2 * abs(numeric), "parameter element \(i): numeric \(numeric), analytic \(analytic[i])")
            checked += 1
        }
        try be.upload(values, to: model.store.values)
        XCTAssertGreaterThan(checked, 150, "\(kinks) elements sat on a kink")
    }

    func testCheckpointResumeAndCaptionsAfterResumeAreIdentical() throws {
        let train = squares(200, seed: 3), valid = squares(10, seed: 4)
        var c = tinyConfig()
        c.steps = 30
        c.dropout = 0.1
        let straight = try CaptionTrainer(train: train, valid: valid, config: c, backend: be)
        straight.evalEvery = 0
        _ = try straight.run()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-caption-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("c.ckpt")
        var half = c
        half.steps = 17
        let first = try CaptionTrainer(train: train, valid: valid, config: half, backend: be)
        first.evalEvery = 0
        first.checkpointURL = url
        first.saveEvery = 17
        _ = try first.run()
        let second = try CaptionTrainer(train: train, valid: valid, config: c, backend: be)
        second.evalEvery = 0
        try second.resume(from: url)
        _ = try second.run()
        XCTAssertEqual(try be.floats(second.model.store.values), try be.floats(straight.model.store.values))
        try second.saveCheckpoint(to: url, step: 30)
        let loaded = try CaptionTrainer.loadModel(from: url, backend: be)
        XCTAssertEqual(try Captioner(model: loaded).describe(valid[0].image, decoding: .beam(width: 2, lengthNormalization: true)).ids,
                       try Captioner(model: straight.model).describe(valid[0].image, decoding: .beam(width: 2, lengthNormalization: true)).ids)
        var wider = c
        wider.hidden = 40
        assertThrows("other settings") { try CaptionTrainer(train: train, valid: valid, config: wider, backend: self.be).resume(from: url) }
        // A checkpoint of another model kind is named as such.
        let seq = dir.appendingPathComponent("s.ckpt")
        var s2s = Seq2SeqConfig()
        s2s.hidden = 8
        s2s.embedding = 4
        s2s.steps = 1
        try Seq2SeqTrainer(train: [SequencePair(source: "ab", references: ["ba"])], valid: [], config: s2s, backend: be)
            .saveCheckpoint(to: seq, step: 0)
        assertThrows("not a captioning checkpoint") { _ = try CaptionTrainer.loadModel(from: seq, backend: self.be) }
    }

    func testImagesCaptionFilesAndScenes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-images-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // PNG round trip, and resizing by area.
        let picture = GrayImage(width: 5, height: 3, pixels: (0..<15).map { UInt8($0 * 17) })
        try picture.writePNG(to: dir.appendingPathComponent("p.png"))
        XCTAssertEqual(try GrayImage.readPNG(dir.appendingPathComponent("p.png")), picture)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("p.png")), try picture.pngData(), "file and memory encoders agree")
        XCTAssertEqual(GrayImage(width: 2, height: 2, pixels: [0, 100, 200, 100]).resized(width: 1, height: 1).pixels, [100])
        // Bad images and files are named errors.
        try Data("not a png".utf8).write(to: dir.appendingPathComponent("bad.png"))
        assertThrows("bad.png: not a readable PNG image") { _ = try GrayImage.readPNG(dir.appendingPathComponent("bad.png")) }
        assertThrows("missing.png: no such image") { _ = try GrayImage.readPNG(dir.appendingPathComponent("missing.png")) }
        // JPEG: a smooth picture survives lossy coding closely; `read` goes by the bytes, not the name.
        let shades: [UInt8] = (0..<128).map { (i: Int) -> UInt8 in UInt8(40 + (i % 16) * 8 + (i / 16) * 4) }
        let ramp = GrayImage(width: 16, height: 8, pixels: shades)
        let jpeg = try ramp.jpegData(quality: 95)
        try jpeg.write(to: dir.appendingPathComponent("r.jpg"))
        try jpeg.write(to: dir.appendingPathComponent("r-named.png"))
        let decoded = try GrayImage.readJPEG(dir.appendingPathComponent("r.jpg"))
        XCTAssertEqual(decoded.width, 16)
        XCTAssertEqual(decoded.height, 8)
        let worst = zip(decoded.pixels, ramp.pixels).map { (a: UInt8, b: UInt8) -> Int in abs(Int(a) - Int(b)) }.max()!
        XCTAssertLessThanOrEqual(worst, 6)
        XCTAssertEqual(try GrayImage.read(dir.appendingPathComponent("r-named.png")), decoded)
        XCTAssertEqual(try GrayImage.read(dir.appendingPathComponent("p.png")), picture)
        let texture = GrayImage(width: 64, height: 64, pixels: (0..<4096).map { (i: Int) -> UInt8 in UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) })
        let big = try texture.jpegData(quality: 90)
        try big.prefix(big.count * 3 / 4).write(to: dir.appendingPathComponent("cut.jpg"))
        assertThrows("cut.jpg: a damaged JPEG image") { _ = try GrayImage.read(dir.appendingPathComponent("cut.jpg")) }
        try Data([0xFF, 0xD8, 0xFF, 0, 1, 2]).write(to: dir.appendingPathComponent("stub.jpg"))
        assertThrows("stub.jpg: not a readable JPEG image") { _ = try GrayImage.read(dir.appendingPathComponent("stub.jpg")) }
        assertThrows("bad.png: not a PNG or JPEG image") { _ = try GrayImage.read(dir.appendingPathComponent("bad.png")) }
        try Data().write(to: dir.appendingPathComponent("empty.jpg"))
        assertThrows("empty.jpg: not a PNG or JPEG image (the file is empty)") { _ = try GrayImage.read(dir.appendingPathComponent("empty.jpg")) }
        assertThrows("missing.jpg: no such image") { _ = try GrayImage.read(dir.appendingPathComponent("missing.jpg")) }
        assertThrows("c.tsv:2: no tab") { _ = try CaptionFile.parse("a.png\tx\nb.png y\n", source: "c.tsv") }
        assertThrows("c.tsv:1: the caption is empty") { _ = try CaptionFile.parse("a.png\t \n", source: "c.tsv") }
        XCTAssertEqual(try CaptionFile.parse("img.jpg#0\tA dog .\nimg.jpg#1\tA dog runs .\n", source: "f").map(\.image), ["img.jpg", "img.jpg"])
        try Data("p.png\tfive by three\nq.png\tmissing\n".utf8).write(to: dir.appendingPathComponent("captions.tsv"))
        assertThrows("the image of 'q.png' (named in captions.tsv) does not exist") {
            _ = try CaptionFile.load(images: dir, captions: dir.appendingPathComponent("captions.tsv"), size: nil)
        }
        // IDX: a gzip-less file of two 2×3 images, and a bad one.
        let idx: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3] + (0..<12).map { UInt8($0) }
        try Data(idx).write(to: dir.appendingPathComponent("i.idx"))
        let images = try IDXFile.images(dir.appendingPathComponent("i.idx"))
        XCTAssertEqual(images.count, 2)
        XCTAssertEqual(images[1], GrayImage(width: 3, height: 2, pixels: [6, 7, 8, 9, 10, 11]))
        try Data(idx.dropLast()).write(to: dir.appendingPathComponent("short.idx"))
        assertThrows("needs 12 bytes, the file has 11") { _ = try IDXFile.images(dir.appendingPathComponent("short.idx")) }
        // Found by fuzzing (a trap before): no images of 4·10⁹ × 4·10⁹ pixels, whose size overflows.
        try Data([0, 0, 8, 3, 0, 0, 0, 0, 0xf8, 0xfc, 0xff, 0xfd, 0xf7, 0xf6, 0xf5, 0xfa]).write(to: dir.appendingPathComponent("huge.idx"))
        assertThrows("a dimension over 2³¹ − 1") { _ = try IDXFile.images(dir.appendingPathComponent("huge.idx")) }
        try Data([0, 0, 8, 3, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]).write(to: dir.appendingPathComponent("wide.idx"))
        XCTAssertEqual(try IDXFile.images(dir.appendingPathComponent("wide.idx")).count, 0, "no images, and no overflow")
        // Scenes: deterministic, captioned in reading order, written and read back.
        let photos = (0..<10).map { GrayImage(width: 28, height: 28, pixels: [UInt8](repeating: UInt8(20 * $0 + 10), count: 784)) }
        let scenes = Scenes.make(count: 20, images: photos, labels: Array(0..<10), seed: 7, prefix: "t-")
        XCTAssertEqual(scenes.map(\.captions), Scenes.make(count: 20, images: photos, labels: Array(0..<10), seed: 7).map(\.captions))
        for s in scenes {
            let parts = s.captions[0].components(separatedBy: " , ")
            XCTAssert((1...3).contains(parts.count))
            let cells = parts.map { Scenes.cells.firstIndex(of: String($0.split(separator: " ")[0]))! }
            XCTAssertEqual(cells, cells.sorted(), "reading order: \(s.captions[0])")
            for (part, cell) in zip(parts, cells) {
                // The article's shade tells its class: the pasted cell carries it.
                let label = FashionMNIST.classNames.firstIndex(of: String(part.split(separator: " ")[1]))!
                XCTAssertEqual(s.image[cell % 2 * 28 + 14, cell / 2 * 28 + 14], UInt8(20 * label + 10))
            }
        }
        try CaptionFile.write(scenes, to: dir.appendingPathComponent("scenes"))
        let back = try CaptionFile.load(images: dir.appendingPathComponent("scenes"),
                                        captions: dir.appendingPathComponent("scenes/captions.tsv"), size: nil)
        XCTAssertEqual(back.map(\.captions), scenes.map(\.captions))
        XCTAssertEqual(back.map(\.image), scenes.map(\.image))
    }

    /// Real Fashion-MNIST, when Debian's dataset-fashion-mnist is installed.
    func testFashionMNISTLoads() throws {
        guard FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory.path) else {
            throw XCTSkip("Fashion-MNIST is not installed (scripts/setup.sh installs dataset-fashion-mnist)")
        }
        let test = try FashionMNIST.load(train: false)
        XCTAssertEqual(test.images.count, 10_000)
        XCTAssertEqual(test.images[0].width, 28)
        XCTAssertEqual(Set(test.labels), Set(0..<10))
    }
}
