import Foundation
import Loom
import XCTest

/// Checkpoints are safetensors files: the real `safetensors` package reads them, their names map
/// onto PyTorch's, and numpy recomputes the model from them.
final class CheckpointFormatTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A two-layer character LSTM with an embedding, trained a few steps and saved; numpy, from
    /// the file alone (`safetensors.numpy`, the metadata's alphabet), runs the prime through the
    /// embedding lookup, both LSTM layers and the softmax, and must find Loom's next character
    /// and its log-probability.
    func testNumpyRecomputesTheCharacterLSTMFromItsCheckpoint() throws {
        let textURL = dir.appendingPathComponent("text.txt")
        try String(repeating: "the cat sat on a mat ", count: 60).write(to: textURL, atomically: true, encoding: .utf8)
        let corpus = try CharacterText.load(textURL, alphabet: .text8)
        var c = CharLSTMConfig()
        c.embedding = 5
        c.layers = 2
        c.hidden = 7
        c.batchSize = 4
        c.unrollings = 6
        c.steps = 20
        c.validSize = 60
        c.optimizer = .adam
        c.learningRate = 0.05
        let trainer = try CharLSTMTrainer(text: corpus, config: c, backend: TestBackends.cpu)
        for step in 0..<c.steps { try trainer.trainStep(step) }
        let url = dir.appendingPathComponent("model.safetensors")
        try trainer.saveCheckpoint(to: url, step: c.steps)
        let model = try CharLSTMTrainer.loadModel(from: url, backend: TestBackends.cpu)
        let prime = "the ca"
        let next = try CharLSTMGenerator(model: model).generate(prime: prime, length: 1, decoding: .greedy)

        let script = """
            import json, sys
            import numpy as np
            from safetensors import safe_open
            from safetensors.numpy import load_file
            d = json.load(sys.stdin)
            t = load_file(d["file"])
            with safe_open(d["file"], framework="np") as f:
                meta = f.metadata()
            loom = json.loads(meta["loom"])
            symbols = [chr(s) for s in loom["alphabet"]["symbols"]]
            ids = [symbols.index(ch) for ch in d["prime"]]
            layers, hidden = loom["config"]["layers"], loom["config"]["hidden"]
            sig = lambda x: 1 / (1 + np.exp(-x))
            h = [np.zeros(hidden, np.float64) for _ in range(layers)]
            c = [np.zeros(hidden, np.float64) for _ in range(layers)]
            for i in ids:
                x = t["embedding.weight"][i].astype(np.float64)
                for l in range(layers):
                    # Loom's layout: W_x (in, 4H), W_h (H, 4H), gates [i | f | o | g].
                    g = x @ t[f"lstm.weight_ih_l{l}"] + h[l] @ t[f"lstm.weight_hh_l{l}"] + t[f"lstm.bias_ih_l{l}"]
                    gi, gf, go, gg = np.split(g, 4)
                    c[l] = sig(gf) * c[l] + sig(gi) * np.tanh(gg)
                    h[l] = sig(go) * np.tanh(c[l])
                    x = h[l]
            logits = x @ t["output.weight"] + t["output.bias"]
            logp = logits - logits.max() - np.log(np.exp(logits - logits.max()).sum())
            k = int(np.argmax(logp))
            print(json.dumps({"next": symbols[k], "logp": float(logp[k]), "format": meta["format"],
                              "names": sorted(t.keys()), "dtype": str(t["lstm.weight_ih_l0"].dtype),
                              "shape": list(t["lstm.weight_ih_l0"].shape)}))
            """
        let r = try runPython(script, input: ["file": url.path, "prime": prime], needs: "safetensors, numpy")
        guard !r.isEmpty else { return }
        XCTAssertEqual(r["format"] as? String, "loom-char-lstm-checkpoint")
        XCTAssertEqual(r["next"] as? String, next.text)
        XCTAssertEqual((r["logp"] as? NSNumber)?.doubleValue ?? .nan, next.logProbability, accuracy: 1e-4)
        XCTAssertEqual(r["dtype"] as? String, "float32")
        XCTAssertEqual(r["shape"] as? [Int], [5, 28])
        let names = Set(r["names"] as? [String] ?? [])
        for name in ["embedding.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l1", "lstm.bias_ih_l1", "output.weight",
                     "output.bias"] {
            XCTAssertTrue(names.contains(name), "\(name) missing from \(names.sorted())")
        }
    }

    /// The file is byte-for-byte the safetensors layout: header length, JSON header with 8-byte
    /// alignment, contiguous offsets; a round trip keeps names, order, shapes and values.
    func testLayoutAndRoundTrip() throws {
        var archive = TensorArchive(metadata: Data(#"{"format":"test","n":3}"#.utf8))
        archive.set("b.weight", floats: [1, -2.5, 3, 4, 5, 6], shape: [2, 3])
        archive.set("a.ids", ints: [7, -8, 9])
        archive.set("empty", floats: [], shape: [0, 4])
        let url = dir.appendingPathComponent("t.safetensors")
        try archive.write(to: url)
        let bytes = try Data(contentsOf: url)
        let n = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
        XCTAssertEqual((8 + n) % 8, 0)
        XCTAssertEqual(bytes.count, 8 + n + 6 * 4 + 3 * 4)
        let header = try XCTUnwrap(try JSONSerialization.jsonObject(with: bytes[8..<(8 + n)]) as? [String: Any])
        let b = try XCTUnwrap(header["b.weight"] as? [String: Any])
        XCTAssertEqual(b["dtype"] as? String, "F32")
        XCTAssertEqual(b["shape"] as? [Int], [2, 3])
        XCTAssertEqual(b["data_offsets"] as? [Int], [0, 24])
        XCTAssertEqual((header["a.ids"] as? [String: Any])?["data_offsets"] as? [Int], [24, 36])
        let info = try XCTUnwrap(header["__metadata__"] as? [String: String])
        XCTAssertEqual(info["format"], "test")
        let back = try TensorArchive.read(from: url)
        XCTAssertEqual(back.names, ["b.weight", "a.ids", "empty"])
        XCTAssertEqual(try back.floats("b.weight"), [1, -2.5, 3, 4, 5, 6])
        XCTAssertEqual(try back.shape("b.weight"), [2, 3])
        XCTAssertEqual(try back.ints("a.ids"), [7, -8, 9])
        XCTAssertEqual(try back.shape("empty"), [0, 4])
        XCTAssertEqual(back.metadata, archive.metadata)
        // Writing the same archive twice gives the same bytes (resumed runs compare files).
        try archive.write(to: dir.appendingPathComponent("again.safetensors"))
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("again.safetensors")), bytes)
    }

    /// Old, damaged and foreign files are named errors.
    func testOldDamagedAndForeignFilesAreNamedErrors() throws {
        var archive = TensorArchive(metadata: Data(#"{"format":"test"}"#.utf8))
        archive.set("w", floats: [1, 2, 3, 4])
        let url = dir.appendingPathComponent("t.safetensors")
        try archive.write(to: url)
        let good = try Data(contentsOf: url)
        func check(_ bytes: Data, _ fragment: String, line: UInt = #line) throws {
            let bad = dir.appendingPathComponent("bad")
            try bytes.write(to: bad)
            XCTAssertThrowsError(try TensorArchive.read(from: bad), line: line) { error in
                guard case LoomError.invalidData(let message) = error else { return XCTFail("\(error)", line: line) }
                XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'", line: line)
            }
        }
        try check(Data("LOOMARCH\u{1}\0\0\0".utf8), "earlier Loom")
        try check(good.prefix(good.count - 3), "offsets")
        var flipped = good
        flipped[flipped.count - 2] ^= 0x40
        try check(flipped, "checksum mismatch")
        // Damage that leaves the header valid JSON: only the header checksum sees it.
        let length = Int(good.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let header = String(decoding: good[8..<(8 + length)], as: UTF8.self)
        /// The file with its header replaced by `text`, padded with spaces to the same length.
        func with(header text: String) -> Data {
            XCTAssertLessThanOrEqual(text.utf8.count, length)
            return good.prefix(8) + Data((text + String(repeating: " ", count: length - text.utf8.count)).utf8)
                + good.suffix(from: 8 + length)
        }
        let edited = header.replacingOccurrences(of: #""format":"test""#, with: #""format":"best""#)
        XCTAssertNotEqual(edited, header)
        try check(with(header: edited), "header checksum mismatch")
        // A file of another tool (no Loom checksums) is read by the parsing checks alone.
        let foreign = header.replacingOccurrences(of: #""loom\.header-checksum":"[0-9a-f]+",?"#, with: "",
                                                  options: .regularExpression)
        XCTAssertNotEqual(foreign, header)
        try with(header: foreign).write(to: dir.appendingPathComponent("foreign"))
        XCTAssertEqual(try TensorArchive.read(from: dir.appendingPathComponent("foreign")).floats("w"), [1, 2, 3, 4])
        var huge = good
        huge.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(1 << 50).littleEndian) { Data($0) })
        try check(huge, "header claims")
        try check(Data([1, 0, 0, 0, 0, 0, 0, 0, 0x7B]), "not a JSON object")
        try check(Data(), "empty")
        var extra = good
        extra.append(contentsOf: [0, 0, 0, 0])
        try check(extra, "after the last entry")
    }

    /// Sequence-to-sequence and captioning models check their configuration and vocabularies
    /// before any layer is made, as a damaged checkpoint's may be anything.
    func testImpossibleSeq2SeqAndCaptionModelsAreErrors() throws {
        let vocabulary = SequenceVocabulary(units: .char, symbols: ["<unk>", "<s>", "</s>", "a", "b"])
        var s = Seq2SeqConfig()
        s.hidden = 4
        s.embedding = 4
        for edit: (inout Seq2SeqConfig) -> Void in [{ $0.layers = 0 }, { $0.layers = 1 << 30 }, { $0.hidden = 1 << 40 },
                                                     { $0.embedding = 1 << 20 }, { $0.maxLength = 1 << 40 }] {
            var bad = s
            edit(&bad)
            assertLoomError(.invalidArgument) { _ = try Seq2SeqModel(config: bad, source: vocabulary, target: vocabulary, backend: TestBackends.cpu) }
        }
        let tiny = SequenceVocabulary(units: .char, symbols: ["<unk>", "<s>", "</s>"])
        assertLoomError(.invalidArgument) { _ = try Seq2SeqModel(config: s, source: tiny, target: vocabulary, backend: TestBackends.cpu) }
        let twice = SequenceVocabulary(units: .char, symbols: ["<unk>", "<s>", "</s>", "a", "a"])
        assertLoomError(.invalidData) { _ = try Seq2SeqModel(config: s, source: vocabulary, target: twice, backend: TestBackends.cpu) }

        var c = CaptionConfig()
        c.imageSize = 8
        c.channels = [2]
        c.hidden = 4
        c.embedding = 4
        XCTAssertNoThrow(try CaptionModel(config: c, vocabulary: vocabulary, backend: TestBackends.cpu))
        for edit: (inout CaptionConfig) -> Void in [{ $0.channels = [1 << 20] }, { $0.imageSize = 1 << 30 },
                                                     { $0.layers = 1 << 30 }, { $0.channels = [] }, { $0.decayEvery = -1 }] {
            var bad = c
            edit(&bad)
            assertLoomError(.invalidArgument) { _ = try CaptionModel(config: bad, vocabulary: vocabulary, backend: TestBackends.cpu) }
        }
        assertLoomError(.invalidArgument) { _ = try CaptionModel(config: c, vocabulary: tiny, backend: TestBackends.cpu) }
    }

    /// A checkpoint whose metadata asks for an impossible model (found by fuzzing: `layers` 0
    /// trapped in LSTMStack) is a named error; the header is not covered by the checksum, so
    /// the configuration is checked before a model is built from it.
    func testImpossibleModelInACheckpointIsAnError() throws {
        let textURL = dir.appendingPathComponent("text.txt")
        try String(repeating: "the cat sat on a mat ", count: 40).write(to: textURL, atomically: true, encoding: .utf8)
        var c = CharLSTMConfig()
        c.hidden = 4
        c.batchSize = 2
        c.unrollings = 3
        c.steps = 1
        c.validSize = 40
        let trainer = try CharLSTMTrainer(text: try CharacterText.load(textURL, alphabet: .text8), config: c,
                                          backend: TestBackends.cpu)
        let url = dir.appendingPathComponent("m.safetensors")
        try trainer.saveCheckpoint(to: url, step: 0)
        let archive = try TensorArchive.read(from: url)
        for (key, value) in [("layers", 0), ("hidden", 0), ("hidden", 1 << 40), ("embedding", -3)] {
            var meta = try XCTUnwrap(try JSONSerialization.jsonObject(with: archive.metadata) as? [String: Any])
            var config = try XCTUnwrap(meta["config"] as? [String: Any])
            config[key] = value
            meta["config"] = config
            var bad = archive
            bad.metadata = try JSONSerialization.data(withJSONObject: meta)
            let badURL = dir.appendingPathComponent("bad.safetensors")
            try bad.write(to: badURL)
            XCTAssertThrowsError(try CharLSTMTrainer.loadModel(from: badURL, backend: TestBackends.cpu), "\(key) \(value)") { error in
                guard case LoomError.invalidArgument = error else { return XCTFail("\(key) \(value): \(error)") }
            }
        }
    }
}
