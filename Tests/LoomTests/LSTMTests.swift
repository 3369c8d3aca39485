import Foundation
@testable import LoomLSTM
import Loom
import XCTest

final class LSTMTests: XCTestCase {
    let abcde = Alphabet(kind: .auto, symbols: ["a", "b", "c", "d", "e"])

    func tinyConfig(embedding: Int, layers: Int, dropout: Float = 0, bigram: Bool = false) -> CharLSTMConfig {
        var c = CharLSTMConfig()
        c.alphabet = .auto
        c.embedding = embedding
        c.layers = layers
        c.hidden = 3
        c.batchSize = 2
        c.unrollings = 3
        c.dropout = dropout
        c.bigram = bigram
        c.initialization = .glorot
        c.seed = 7
        return c
    }

    // MARK: Double-precision reference

    /// Loss (mean cross-entropy over T·B) of the model described by `params` (the model's own
    /// parameter list, as doubles), with the dropout masks the model would draw at `step`.
    func referenceLoss(_ model: CharLSTM, _ params: [[Double]], inputs: [Int32], labels: [Int32],
                       batch b: Int, steps t: Int, step: Int, training: Bool) -> Double {
        let c = model.config, h = c.hidden, v = model.alphabet.count
        let keep = Double(1 - c.dropout)
        let threshold = Philox.keepThreshold(1 - c.dropout)
        func mask(site: Int, index: Int) -> Double {
            guard training && c.dropout > 0 else { return 1 }
            let word = Philox.word(index: UInt64(index), seed: c.seed, stream: model.dropoutStream(step: step, site: site))
            return word >> 8 < threshold ? 1 / keep : 0
        }
        func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
        var hState = [[Double]](repeating: [Double](repeating: 0, count: b * h), count: c.layers)
        var cState = hState
        var total = 0.0
        for s in 0..<t {
            // Layer inputs: (B, width)
            var input: [Double]
            var width: Int
            if let e = model.embeddingIndex {
                width = c.embedding
                input = []
                for r in 0..<b {
                    let id = Int(inputs[s * b + r])
                    for k in 0..<width {
                        input.append(params[e][id * width + k] * mask(site: 0, index: (s * b + r) * width + k))
                    }
                }
            } else {
                width = model.inputVocabulary
                input = [Double](repeating: 0, count: b * width)
                for r in 0..<b { input[r * width + Int(inputs[s * b + r])] = 1 }
            }
            for l in 0..<c.layers {
                let (wx, wh, bias) = model.layerIndices[l]
                var out = [Double](repeating: 0, count: b * h)
                for r in 0..<b {
                    var g = [Double](repeating: 0, count: 4 * h)
                    for j in 0..<(4 * h) {
                        var sum = params[bias][j]
                        for k in 0..<width { sum += input[r * width + k] * params[wx][k * 4 * h + j] }
                        for k in 0..<h { sum += hState[l][r * h + k] * params[wh][k * 4 * h + j] }
                        g[j] = sum
                    }
                    for k in 0..<h {
                        let i = sigmoid(g[k]), f = sigmoid(g[h + k]), o = sigmoid(g[2 * h + k]), cand = tanh(g[3 * h + k])
                        let cell = f * cState[l][r * h + k] + i * cand
                        cState[l][r * h + k] = cell
                        hState[l][r * h + k] = o * tanh(cell)
                        out[r * h + k] = hState[l][r * h + k] * mask(site: 1 + l, index: (s * b + r) * h + k)
                    }
                }
                input = out
                width = h
            }
            let (wo, bo) = model.outputIndex
            for r in 0..<b {
                var z = [Double](repeating: 0, count: v)
                for j in 0..<v {
                    z[j] = params[bo][j] + (0..<h).reduce(0.0) { $0 + input[r * h + $1] * params[wo][$1 * v + j] }
                }
                let m = z.max()!
                total += m + log(z.reduce(0) { $0 + exp($1 - m) }) - z[Int(labels[s * b + r])]
            }
        }
        return total / Double(t * b)
    }

    /// Every parameter gradient of one BPTT pass against central differences of the reference.
    func checkGradients(_ config: CharLSTMConfig, file: StaticString = #filePath, line: UInt = #line) throws {
        let be = TestBackends.cpu
        let model = try CharLSTM(config: config, alphabet: abcde, backend: be)
        let ws = try model.workspace(batch: 2, steps: 3, training: true)
        let vin = model.inputVocabulary
        let inputs: [Int32] = [0, 3, 2, 4, 1, 1].map { Int32(Int($0) % vin) }
        let labels: [Int32] = [3, 2, 4, 1, 1, 0]
        try be.upload(config.bigram ? [7, 18, 2, 24, 13, 6] : inputs, to: ws.ownInputs)
        try be.upload(labels, to: ws.ownLabels)
        let realInputs: [Int32] = config.bigram ? [7, 18, 2, 24, 13, 6] : inputs
        try model.resetState(ws)
        let step = 5
        try model.forward(ws, training: true, step: step)
        let modelLoss = try model.takeLoss(ws)!
        try model.backward(ws, step: step)
        let params = try model.parameters.map { try be.floats($0.value).map(Double.init) }
        let reference = referenceLoss(model, params, inputs: realInputs, labels: labels, batch: 2, steps: 3, step: step,
                                      training: true)
        XCTAssertEqual(modelLoss, reference, accuracy: 1e-5, "forward loss", file: file, line: line)
        for (i, p) in model.parameters.enumerated() {
            let analytic = try be.floats(p.gradient).map(Double.init)
            var numeric = [Double](repeating: 0, count: params[i].count)
            var perturbed = params
            for j in 0..<params[i].count {
                let eps = 1e-6
                perturbed[i][j] = params[i][j] + eps
                let up = referenceLoss(model, perturbed, inputs: realInputs, labels: labels, batch: 2, steps: 3, step: step, training: true)
                perturbed[i][j] = params[i][j] - eps
                let down = referenceLoss(model, perturbed, inputs: realInputs, labels: labels, batch: 2, steps: 3, step: step, training: true)
                perturbed[i][j] = params[i][j]
                numeric[j] = (up - down) / (2 * eps)
            }
            assertClose(analytic, numeric, atol: 2e-6, rtol: 1e-3, "∂loss/∂\(p.name)", file: file, line: line)
        }
    }

    func testBPTTGradientsOneHotOneLayer() throws {
        try checkGradients(tinyConfig(embedding: 0, layers: 1))
    }

    func testBPTTGradientsEmbeddingTwoLayersDropout() throws {
        try checkGradients(tinyConfig(embedding: 2, layers: 2, dropout: 0.3))
    }

    func testBPTTGradientsBigram() throws {
        try checkGradients(tinyConfig(embedding: 2, layers: 1, bigram: true))
    }

    // MARK: Parity and behaviour

    func text(_ s: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("loom-lstm-\(UUID().uuidString).txt")
        try Data(s.utf8).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testTrainingStepParityCPUOpenCL() throws {
        let device = try TestBackends.openCL()
        var rng = SeededGenerator(seed: 3)
        let letters = Array("abcdefghij klmnop")
        let sample = String((0..<3000).map { _ in letters[Int(rng.next() % UInt64(letters.count))] })
        let corpus = try CharacterText.load(try text(sample), alphabet: .text8)
        for (embedding, layers, dropout) in [(0, 1, Float(0)), (8, 2, 0.25)] {
            var c = CharLSTMConfig()
            c.embedding = embedding
            c.layers = layers
            c.dropout = dropout
            c.hidden = 16
            c.batchSize = 5
            c.unrollings = 7
            c.steps = 3
            c.validSize = 100
            c.l2 = 1e-3
            var results: [[Float]] = []
            for be in [TestBackends.cpu as any Backend, device] {
                let trainer = try CharLSTMTrainer(text: corpus, config: c, backend: be)
                trainer.evalEvery = 0
                _ = try trainer.run()
                results.append(try trainer.model.parameters.flatMap { try be.floats($0.value) })
            }
            assertClose(results[1], results[0], atol: 1e-4, rtol: 1e-3, "parameters after 3 steps (emb \(embedding), \(layers) layers)")
        }
    }

    func testClippingBoundsTheGlobalNorm() throws {
        let be = TestBackends.cpu
        var c = tinyConfig(embedding: 2, layers: 2)
        c.clip = 0.01
        let model = try CharLSTM(config: c, alphabet: abcde, backend: be)
        let ws = try model.workspace(batch: 2, steps: 3, training: true)
        try be.upload([Int32]([0, 3, 2, 4, 1, 1]), to: ws.ownInputs)
        try be.upload([Int32]([3, 2, 4, 1, 1, 0]), to: ws.ownLabels)
        try model.forward(ws, training: true, step: 0)
        try model.backward(ws, step: 0)
        let before = try model.parameters.map { try be.floats($0.gradient) }
        try model.update(ws, step: 0)
        let after = try model.parameters.map { try be.floats($0.gradient) }
        let norm = after.joined().reduce(0.0) { $0 + Double($1 * $1) }.squareRoot()
        let original = before.joined().reduce(0.0) { $0 + Double($1 * $1) }.squareRoot()
        XCTAssertGreaterThan(original, 0.01)
        XCTAssertLessThanOrEqual(norm, 0.01 * (1 + 1e-4))
        for (x, y) in zip(after.joined(), before.joined()) { XCTAssertEqual(Double(x), Double(y) * 0.01 / original, accuracy: 1e-6) }
    }

    func testDropoutIsOffAtEvaluation() throws {
        let be = TestBackends.cpu
        let corpus = try CharacterText.load(try text(String(repeating: "the quick brown fox ", count: 100)), alphabet: .text8)
        var c = CharLSTMConfig()
        c.embedding = 8
        c.dropout = 0.5
        c.hidden = 16
        c.batchSize = 4
        c.unrollings = 5
        c.validSize = 200
        let trainer = try CharLSTMTrainer(text: corpus, config: c, backend: be)
        let a = try trainer.validationPerplexity(.course)
        let b = try trainer.validationPerplexity(.course)
        XCTAssertEqual(a, b)
        // The same weights without dropout give the same validation perplexity.
        var plain = c
        plain.dropout = 0
        let twin = try CharLSTMTrainer(text: corpus, config: plain, backend: be)
        for (p, q) in zip(trainer.model.parameters, twin.model.parameters) { try be.copy(p.value, to: q.value) }
        XCTAssertEqual(try twin.validationPerplexity(.course), a, accuracy: 1e-9)
        XCTAssertEqual(try twin.validationPerplexity(.batched), try trainer.validationPerplexity(.batched), accuracy: 1e-9)
    }

    func testLearnsARepeatedSequence() throws {
        let corpus = try CharacterText.load(try text(String(repeating: "abcab cbca ", count: 400)), alphabet: .text8)
        var c = CharLSTMConfig()
        c.hidden = 24
        c.batchSize = 16
        c.unrollings = 11
        c.steps = 400
        c.validSize = 220
        c.optimizer = .adam
        c.learningRate = 0.02
        c.initialization = .glorot
        let trainer = try CharLSTMTrainer(text: corpus, config: c, backend: TestBackends.cpu)
        trainer.evalEvery = 0
        let summary = try trainer.run()
        let ppl = try trainer.validationPerplexity(.course)
        XCTAssertLessThan(ppl, 1.3, "perplexity on a deterministic sequence should approach 1 (loss \(summary.trainingLoss ?? -1))")
        // And it continues the pattern.
        let out = try CharLSTMGenerator(model: trainer.model).generate(prime: "abcab cbca abc", length: 11, decoding: .greedy)
        XCTAssertEqual(out.text, "ab cbca abc")
    }

    func testCourseConfigurationLearnsMoreThanLetterFrequencies() throws {
        let url = sharedData("corpus/prose8.txt")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("\(url.path) not found (set LOOM_SHARED_DATA): the course-configuration check needs it")
        }
        // The first 200k characters, the course's settings, 150 steps (about 0.2 s in release).
        let handle = try FileHandle(forReadingFrom: url)
        let head = try handle.read(upToCount: 200_000) ?? Data()
        try handle.close()
        let corpus = try CharacterText.load(try text(String(decoding: head, as: UTF8.self)), alphabet: .text8)
        var c = CharLSTMConfig()
        c.steps = 150
        let trainer = try CharLSTMTrainer(text: corpus, config: c, backend: TestBackends.cpu)
        trainer.reportEvery = 25
        trainer.evalEvery = 0
        var losses: [Double] = []
        trainer.onProgress = { if let l = $0.loss { losses.append(l) } }
        _ = try trainer.run()
        // Letter frequencies alone (a unigram model of the training text) give a cross-entropy
        // equal to their entropy, about 2.85 nats against log 27 = 3.30 for uniform guesses; only a
        // model that reads the preceding characters gets clearly below it.
        var counts = [Double](repeating: 0, count: corpus.alphabet.count)
        for id in trainer.train.ids { counts[Int(id)] += 1 }
        let total = counts.reduce(0, +)
        let unigram = -counts.reduce(0) { $0 + ($1 > 0 ? $1 / total * log($1 / total) : 0) }
        let validation = log(try trainer.validationPerplexity(.course))
        print(String(format: "unigram entropy %.3f nats; validation cross-entropy %.3f nats after %d steps",
                     unigram, validation, c.steps))
        XCTAssertGreaterThan(losses.first!, log(27.0) * 0.8)
        XCTAssertGreaterThan(unigram, 2.6, "the letters' entropy of English text")
        // 150 steps reach about 2.17 nats (a bigram model of English letters, about 2.3).
        XCTAssertLessThan(validation, unigram - 0.5,
                          "validation cross-entropy \(validation) nats, unigram entropy \(unigram); losses \(losses)")
    }

    func testCheckpointResumesExactlyAndRefusesMismatches() throws {
        let be = TestBackends.cpu
        let corpus = try CharacterText.load(try text(String(repeating: "hello world, hello loom. ", count: 80)), alphabet: .text8)
        var c = CharLSTMConfig()
        c.hidden = 12
        c.batchSize = 4
        c.unrollings = 6
        c.steps = 20
        c.validSize = 100
        let straight = try CharLSTMTrainer(text: corpus, config: c, backend: be)
        straight.evalEvery = 0
        _ = try straight.run()

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-lstm-ckpt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("m.ckpt")
        var half = c
        half.steps = 10
        let first = try CharLSTMTrainer(text: corpus, config: half, backend: be)
        first.evalEvery = 0
        first.checkpointURL = url
        first.saveEvery = 10
        _ = try first.run()
        let second = try CharLSTMTrainer(text: corpus, config: c, backend: be)
        second.evalEvery = 0
        try second.resume(from: url)
        _ = try second.run()
        XCTAssertEqual(try second.model.parameters.flatMap { try be.floats($0.value) },
                       try straight.model.parameters.flatMap { try be.floats($0.value) })

        // A model of another shape or alphabet is refused with a clear error.
        var wider = c
        wider.hidden = 13
        assertThrows("other settings") { try CharLSTMTrainer(text: corpus, config: wider, backend: be).resume(from: url) }
        let bytes = try CharacterText.load(try text(String(repeating: "hello world, hello loom. ", count: 80)), alphabet: .bytes)
        var byteConfig = c
        byteConfig.alphabet = .bytes
        assertThrows("other settings") { try CharLSTMTrainer(text: bytes, config: byteConfig, backend: be).resume(from: url) }
        // Generation loads it, and a prime outside an auto alphabet is a clear error.
        let model = try CharLSTMTrainer.loadModel(from: url, backend: be)
        XCTAssertEqual(try CharLSTMGenerator(model: model).generate(prime: "hel", length: 5, decoding: .greedy).symbols.count, 5)
        let auto = try CharacterText.load(try text("abcabcabc"), alphabet: .auto)
        XCTAssertThrowsError(try auto.alphabet.encode("abz")) { XCTAssertTrue("\($0)".contains("'z'"), "\($0)") }
        // The text8 model folds capitals, but a prime with other symbols is refused, not folded to spaces.
        XCTAssertEqual(try CharLSTMGenerator(model: model).generate(prime: "The", length: 2, decoding: .greedy).symbols.count, 2)
        for prime in ["h\u{E9}llo", "route 66"] {
            XCTAssertThrowsError(try CharLSTMGenerator(model: model).generate(prime: prime, length: 5, decoding: .greedy)) {
                XCTAssertTrue("\($0)".contains("not in the text8 alphabet"), "\($0)")
            }
        }
        XCTAssertEqual(try Alphabet.text8.encode("a1b"), [1, 0, 2], "training text still folds unknown symbols to spaces")
    }

    func testBadTextsAreClearErrors() throws {
        let be = TestBackends.cpu
        assertThrows("is empty") { _ = try CharacterText.load(try text(""), alphabet: .text8) }
        let short = try CharacterText.load(try text("just a few characters here"), alphabet: .text8)
        var c = CharLSTMConfig()
        c.validSize = 5
        assertThrows("needs at least") { _ = try CharLSTMTrainer(text: short, config: c, backend: be) }
        c.bigram = true
        assertThrows("--bigram needs an input embedding") { _ = try CharLSTMTrainer(text: short, config: c, backend: be) }
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("loom-garbage-\(UUID().uuidString)")
        try Data([0x00, 0x01, 0xFF, 0x00]).write(to: garbage)
        defer { try? FileManager.default.removeItem(at: garbage) }
        assertThrows("binary") { _ = try CharacterText.load(garbage, alphabet: .text8) }
        assertThrows("not a valid Loom checkpoint") { _ = try CharLSTMTrainer.loadModel(from: garbage, backend: be) }
    }

    // MARK: Beam search

    /// A hand-built bigram model over {0, 1, 2}: from the start, 0 is likelier than 1, but after 0
    /// everything is uncertain while after 1 the next symbol is nearly sure — so greedy picks 0
    /// first and ends with a less probable sequence than the beam.
    let table: [[Double]] = [[0.34, 0.33, 0.33], [0.01, 0.98, 0.01], [0.4, 0.3, 0.3]]
    let start: [Double] = [0.55, 0.45, 0.0]

    func runBeam(width: Int, length: Int) -> BeamSearch.Result {
        // The model's state is its last symbol, so the parents need no reordering here.
        BeamSearch.run(width: width, length: length, initial: start.map { Float(log($0)) }) { _, symbols in
            symbols.map { s in table[Int(s)].map { Float(log($0)) } }
        }
    }

    func logProbability(_ seq: [Int32]) -> Double {
        var lp = log(start[Int(seq[0])])
        for i in 1..<seq.count { lp += log(table[Int(seq[i - 1])][Int(seq[i])]) }
        return lp
    }

    func testBeamSearchBeatsGreedyWithTrueLogProbabilities() {
        let greedy = runBeam(width: 1, length: 2)
        XCTAssertEqual(greedy.symbols.first, 0)
        let beam = runBeam(width: 3, length: 2)
        XCTAssertEqual(beam.symbols, [1, 1])
        XCTAssertGreaterThan(beam.logProbability, greedy.logProbability)
        XCTAssertEqual(beam.logProbability, logProbability(beam.symbols), accuracy: 1e-5)
        XCTAssertEqual(greedy.logProbability, logProbability(greedy.symbols), accuracy: 1e-5)
    }

    func testBeamOfOneIsGreedyOnTheModel() throws {
        let corpus = try CharacterText.load(try text(String(repeating: "to be or not to be, that is the question. ", count: 60)),
                                            alphabet: .text8)
        var c = CharLSTMConfig()
        c.hidden = 16
        c.batchSize = 8
        c.unrollings = 8
        c.steps = 60
        c.validSize = 100
        let trainer = try CharLSTMTrainer(text: corpus, config: c, backend: TestBackends.cpu)
        trainer.evalEvery = 0
        _ = try trainer.run()
        let gen = CharLSTMGenerator(model: trainer.model)
        let greedy = try gen.generate(prime: "to be", length: 30, decoding: .greedy)
        let beam1 = try gen.generate(prime: "to be", length: 30, decoding: .beam(width: 1, lengthNormalization: false))
        XCTAssertEqual(greedy.text, beam1.text)
        XCTAssertEqual(greedy.logProbability, beam1.logProbability, accuracy: 1e-3)
        let beam4 = try gen.generate(prime: "to be", length: 30, decoding: .beam(width: 4, lengthNormalization: false))
        XCTAssertGreaterThanOrEqual(beam4.logProbability, greedy.logProbability - 1e-4)
        // Sampling is reproducible by seed.
        XCTAssertEqual(try gen.generate(prime: "to", length: 20, decoding: .sample(temperature: 1), seed: 5).text,
                       try gen.generate(prime: "to", length: 20, decoding: .sample(temperature: 1), seed: 5).text)
    }

    // MARK: Word-level models with a sampled-softmax output

    func wordText() -> String {
        var rng = SeededGenerator(seed: 12)
        let sentences = ["the cat sat on the mat", "a dog ran in the park", "we like to read good books",
                         "birds fly over the old town", "she sings a quiet song"]
        return (0..<600).map { _ in sentences[Int(rng.next() % UInt64(sentences.count))] }.joined(separator: " . ") + " ."
    }

    func testWordAlphabetRoundTrips() throws {
        let small = try CharacterText.load(try text(wordText()), alphabet: .words, maxVocabulary: 12)
        XCTAssertEqual(small.alphabet.count, 12)
        XCTAssertGreaterThan(small.ids.filter { $0 == 0 }.count, 0, "words beyond the 11 most frequent are UNK")
        let corpus = try CharacterText.load(try text(wordText()), alphabet: .words, maxVocabulary: 100)
        XCTAssertEqual(corpus.alphabet.count, 27)   // UNK, '.', and 25 distinct words
        XCTAssertEqual(corpus.alphabet.words[0], "UNK")
        let ids = try corpus.alphabet.encode("The cat sat on zebra")
        XCTAssertEqual(ids.last, 0)
        XCTAssertEqual(corpus.alphabet.decode(ids), "the cat sat on UNK")
        let back = try JSONDecoder().decode(Alphabet.self, from: try JSONEncoder().encode(corpus.alphabet))
        XCTAssertEqual(back, corpus.alphabet)
    }

    func sampledConfig() -> CharLSTMConfig {
        var c = CharLSTMConfig()
        c.alphabet = .words
        c.maxVocabulary = 40
        c.sampled = 10
        c.embedding = 16
        c.hidden = 24
        c.batchSize = 8
        c.unrollings = 6
        c.validSize = 120
        c.optimizer = .adam
        c.learningRate = 0.01
        c.initialization = .glorot
        return c
    }

    func testSampledOutputParityCPUOpenCL() throws {
        let device = try TestBackends.openCL()
        let corpus = try CharacterText.load(try text(wordText()), alphabet: .words, maxVocabulary: 40)
        var c = sampledConfig()
        c.steps = 4
        var results: [[Float]] = []
        for be in [TestBackends.cpu as any Backend, device] {
            let trainer = try CharLSTMTrainer(text: corpus, config: c, backend: be)
            trainer.evalEvery = 0
            _ = try trainer.run()
            results.append(try trainer.model.parameters.flatMap { try be.floats($0.value) })
        }
        assertClose(results[1], results[0], atol: 1e-4, rtol: 1e-3, "parameters after 4 sampled-softmax steps")
    }

    func testWordModelWithSampledSoftmaxLearns() throws {
        let corpus = try CharacterText.load(try text(wordText()), alphabet: .words, maxVocabulary: 40)
        var c = sampledConfig()
        c.steps = 300
        let trainer = try CharLSTMTrainer(text: corpus, config: c, backend: TestBackends.cpu)
        trainer.evalEvery = 0
        let before = try trainer.validationPerplexity(.batched)
        _ = try trainer.run()
        let after = try trainer.validationPerplexity(.batched)
        // Within a sentence every word is fixed; only the sentence choice (1 in 5) is uncertain.
        XCTAssertLessThan(after, 3.0, "exact validation perplexity after sampled-softmax training (before: \(before))")
        let out = try CharLSTMGenerator(model: trainer.model).generate(prime: "the cat sat", length: 3, decoding: .greedy)
        XCTAssertEqual(out.text, "on the mat")
    }
}
