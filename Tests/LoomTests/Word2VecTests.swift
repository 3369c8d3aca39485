import Foundation
@testable import LoomWord2Vec
import Loom
import XCTest

final class Word2VecTests: XCTestCase {
    /// A corpus file with `text`, in a fresh temporary folder.
    func corpusFile(_ text: String, name: String = "corpus.txt") throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-w2v-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return url
    }

    // MARK: Batches

    func testCourseBatchesMatchGenerateBatch() {
        // data = 10 20 30 40 50 …; skip_window 1, num_skips 2: centres data[1], data[2], …, each
        // paired once with its left and once with its right neighbour (in random order).
        let ids = (0..<12).map { Int32($0 * 10) }
        var stream = ExampleStream(ids: IDStream(ids), model: .skipgram, batching: .course(skipWindow: 1, numSkips: 2),
                                   batchSize: 8, seed: 3, keep: nil)
        var batch = ExampleBatch()
        stream.next(into: &batch)
        XCTAssertEqual(batch.inputs, [10, 10, 20, 20, 30, 30, 40, 40])
        for c in 0..<4 {
            XCTAssertEqual(Set(batch.labels[(2 * c)..<(2 * c + 2)]), [Int32(c * 10), Int32(c * 10 + 20)])
        }
        XCTAssertEqual(batch.words, 4)
        stream.next(into: &batch)
        XCTAssertEqual(batch.inputs, [50, 50, 60, 60, 70, 70, 80, 80])
        // skip_window 2, num_skips 4: every context of the window.
        var wide = ExampleStream(ids: IDStream(ids), model: .skipgram, batching: .course(skipWindow: 2, numSkips: 4),
                                 batchSize: 8, seed: 3, keep: nil)
        wide.next(into: &batch)
        XCTAssertEqual(batch.inputs, [20, 20, 20, 20, 30, 30, 30, 30])
        XCTAssertEqual(Set(batch.labels[0..<4]), [0, 10, 30, 40])
        XCTAssertEqual(Set(batch.labels[4..<8]), [10, 20, 40, 50])
        // The cursor wraps around the text, as data_index does.
        var wrap = ExampleStream(ids: IDStream(Array(ids[0..<4])), model: .skipgram, batching: .course(skipWindow: 1, numSkips: 2),
                                 batchSize: 8, seed: 3, keep: nil)
        wrap.next(into: &batch)
        XCTAssertEqual(batch.inputs, [10, 10, 20, 20, 30, 30, 0, 0])
        XCTAssertEqual(Set(batch.labels[4..<6]), [20, 0])
    }

    func testCourseCBOWBags() {
        let ids = (0..<8).map { Int32($0) }
        var stream = ExampleStream(ids: IDStream(ids), model: .cbow, batching: .course(skipWindow: 1, numSkips: 2),
                                   batchSize: 3, seed: 1, keep: nil)
        var batch = ExampleBatch()
        stream.next(into: &batch)
        XCTAssertEqual(batch.labels, [1, 2, 3])
        XCTAssertEqual(batch.inputs, [0, 2, 1, 3, 2, 4])
    }

    func testDynamicWindowPairs() {
        // window 1 never shrinks: every neighbour predicts its centre, as word2vec's skip-gram.
        let ids = (0..<6).map { Int32($0) }
        var stream = ExampleStream(ids: IDStream(ids), model: .skipgram, batching: .dynamic(window: 1), batchSize: 100, seed: 1,
                                   keep: nil)
        var batch = ExampleBatch()
        stream.next(into: &batch)
        XCTAssertEqual(Array(zip(batch.inputs, batch.labels).prefix(10).map { [$0, $1] }),
                       [[1, 0], [0, 1], [2, 1], [1, 2], [3, 2], [2, 3], [4, 3], [3, 4], [5, 4], [4, 5]])
        // Larger windows: every pair lies within the window, and the position is resumable.
        var wide = ExampleStream(ids: IDStream((0..<3000).map { Int32($0 % 97) }), model: .skipgram, batching: .dynamic(window: 5),
                                 batchSize: 64, seed: 9, keep: nil)
        var copy = wide
        // Input and label are a context and its centre: positions p and p ± 1…5. The ids repeat
        // every 97 positions, so the distance of the ids around the cycle is that of the positions.
        var distances = Set<Int>()
        for _ in 0..<3 {
            copy.next(into: &batch)
            XCTAssertGreaterThan(batch.count, 0)
            for (input, label) in zip(batch.inputs, batch.labels) {
                let d = Int((label - input + 97) % 97), distance = min(d, 97 - d)
                XCTAssertTrue((1...5).contains(distance), "pair (\(input), \(label)) is \(distance) positions apart, window 5")
                distances.insert(distance)
            }
        }
        XCTAssertEqual(distances, Set(1...5), "the shrunk windows reach every distance up to 5")
        copy = wide
        wide.next(into: &batch)
        copy.next(into: &batch)
        let saved = wide.position
        wide.next(into: &batch)
        let expected = batch
        var resumed = ExampleStream(ids: IDStream((0..<3000).map { Int32($0 % 97) }), model: .skipgram, batching: .dynamic(window: 5),
                                    batchSize: 64, seed: 9, keep: nil)
        resumed.position = saved
        var again = ExampleBatch()
        resumed.next(into: &again)
        XCTAssertEqual(again.inputs, expected.inputs)
        XCTAssertEqual(again.labels, expected.labels)
        XCTAssertLessThanOrEqual(expected.count, 64)
    }

    func testSubsamplingDropsFrequentWords() throws {
        // "the" is 90% of the text; with t = 1e-3 most of its occurrences are dropped.
        var words: [String] = []
        var rng = SeededGenerator(seed: 4)
        for i in 0..<20_000 { words.append(rng.nextFloat() < 0.9 ? "the" : "w\(i % 50)") }
        let corpus = try Corpus.load(try corpusFile(words.joined(separator: " ")), options: CorpusOptions(minCount: 1))
        let keep = corpus.vocabulary.keepProbabilities(threshold: 1e-3)
        XCTAssertLessThan(keep[corpus.vocabulary.id(of: "the")!], 0.05)
        var stream = ExampleStream(ids: corpus.ids, model: .skipgram, batching: .dynamic(window: 2), batchSize: 4096,
                                   seed: 2, keep: keep)
        var batch = ExampleBatch()
        stream.next(into: &batch)
        let theID = Int32(corpus.vocabulary.id(of: "the")!)
        let share = Double(batch.labels.filter { $0 == theID }.count) / Double(batch.count)
        XCTAssertLessThan(share, 0.5)
    }

    // MARK: Samplers

    func testLogUniformFrequenciesAndExpectedCounts() {
        let v = 50
        var sampler = LogUniformSampler(range: v)
        var rng = SeededGenerator(seed: 5)
        var hist = [Int](repeating: 0, count: v)
        let draws = 200_000
        for _ in 0..<draws { hist[sampler.draw(&rng)] += 1 }
        for k in [0, 1, 5, 20, 49] {
            let expected = sampler.probability(k) * Double(draws)
            XCTAssertEqual(Double(hist[k]), expected, accuracy: 5 * expected.squareRoot() + 5, "k=\(k)")
        }
        XCTAssertEqual((0..<v).reduce(0) { $0 + sampler.probability($1) }, 1, accuracy: 1e-9)
        var ids: [Int32] = []
        let tries = sampler.sampleUnique(10, into: &ids, &rng)
        XCTAssertEqual(Set(ids).count, 10)
        XCTAssertGreaterThanOrEqual(tries, 10)
        // TensorFlow: with rejections E = 1 − (1 − p)^tries; without, E = S·p.
        let p0 = sampler.probability(0)
        XCTAssertEqual(Double(sampler.logExpectedCount(0, count: 10, tries: 14)), log(1 - pow(1 - p0, 14)), accuracy: 1e-5)
        XCTAssertEqual(Double(sampler.logExpectedCount(0, count: 10, tries: 10)), log(10 * p0), accuracy: 1e-5)
    }

    func testAliasSamplerMatchesWeights() {
        let weights: [Double] = [5, 1, 0, 3, 1]
        let alias = AliasSampler(weights: weights)
        var rng = SeededGenerator(seed: 6)
        var hist = [Int](repeating: 0, count: 5)
        for _ in 0..<100_000 { hist[Int(alias.draw(&rng))] += 1 }
        XCTAssertEqual(hist[2], 0)
        for k in [0, 1, 3, 4] { XCTAssertEqual(Double(hist[k]) / 100_000, weights[k] / 10, accuracy: 0.01) }
    }

    func testSampledLossApproachesFullSoftmax() throws {
        // With more samples the sampled-softmax loss of a fixed model approaches the exact one.
        let be = TestBackends.cpu
        let (b, v, d) = (64, 40, 8)
        var data = TestData(seed: 7)
        let h = try be.tensor(data.uniform(b * d), shape: [b, d])
        let w = try be.tensor(data.uniform(v * d, -2, 2), shape: [v, d])
        let bias = try be.tensor(data.uniform(v))
        let labels = data.ids(b, below: v)
        // Exact loss.
        let logits = try be.zeros([b, v]), probs = try be.zeros([b, v]), losses = try be.zeros([b])
        try be.matmul(h, w, into: logits, transposeB: true)
        try be.addRowVector(bias, to: logits)
        try be.softmaxCrossEntropy(logits, labels: try be.tensor(labels), probabilities: probs, losses: losses)
        let exact = try be.floats(losses).reduce(0, +) / Float(b)
        var errors: [Float] = []
        for s in [4, 16, 39] {
            var sampler = LogUniformSampler(range: v)
            var rng = SeededGenerator(seed: UInt64(s))
            var total: Float = 0
            let trials = 40
            for _ in 0..<trials {
                var ids: [Int32] = []
                let tries = sampler.sampleUnique(s, into: &ids, &rng)
                let o = try SampledSoftmaxOutputs.allocate(on: be, batch: b, sampled: s, dim: d)
                try be.sampledSoftmax(SampledSoftmaxProblem(
                    inputs: h, labels: try be.tensor(labels), sampled: try be.tensor(ids),
                    labelLogQ: try be.tensor(labels.map { sampler.logExpectedCount(Int($0), count: s, tries: tries) }),
                    sampledLogQ: try be.tensor(ids.map { sampler.logExpectedCount(Int($0), count: s, tries: tries) }),
                    weights: w, biases: bias), outputs: o, lossScale: 1)
                total += try be.floats(o.losses).reduce(0, +) / Float(b)
            }
            errors.append(abs(total / Float(trials) - exact))
        }
        XCTAssertGreaterThan(errors[0], errors[2])
        XCTAssertLessThan(errors[2], 0.05 * exact, "sampled loss with S = V−1 should be close to the exact \(exact)")
    }

    // MARK: Training

    /// Planted structure: partners `aG` and `bG` always occur between the same context words
    /// `cG_0…2` (and never elsewhere), amid filler. Partners share contexts, so their vectors
    /// should end up among each other's nearest neighbours.
    func plantedCorpus(groups: Int = 12, length: Int = 8000) throws -> URL {
        var rng = SeededGenerator(seed: 99)
        var words: [String] = []
        while words.count < length {
            let g = Int(rng.next() % UInt64(groups))
            words += ["c\(g)_\(rng.next() % 3)", rng.nextFloat() < 0.5 ? "a\(g)" : "b\(g)", "c\(g)_\(rng.next() % 3)"]
            if rng.nextFloat() < 0.5 { words.append("f\(rng.next() % 50)") }
        }
        return try corpusFile(words.joined(separator: " "))
    }

    func trainPlanted(loss: Word2VecConfig.Loss, model: Word2VecConfig.Model, window: Int?,
                      backend: any Backend) throws -> (Word2VecTrainer, Corpus) {
        let corpus = try Corpus.load(try plantedCorpus(), options: CorpusOptions(minCount: 1))
        var config = Word2VecConfig.defaults(model: model, loss: loss, window: window)
        config.dimension = 24
        config.numSampled = loss == .sampled ? 32 : 5
        config.epochs = 3
        config.batchSize = 64
        config.sample = 0
        if loss != .negative { config.learningRate = 0.5 }
        let trainer = try Word2VecTrainer(corpus: corpus, config: config, backend: backend)
        trainer.evalEvery = nil
        _ = try trainer.run()
        return (trainer, corpus)
    }

    func assertPartnersAreNeighbours(_ trainer: Word2VecTrainer, _ corpus: Corpus, _ label: String) throws {
        var hits = 0
        let queries = (0..<12).map { corpus.vocabulary.id(of: "a\($0)")! }
        let nearest = try trainer.model.nearest(queries, k: 3)
        for (p, row) in nearest.enumerated() where row.map(\.word).contains("b\(p)") { hits += 1 }
        XCTAssertGreaterThanOrEqual(hits, 10, "\(label): only \(hits) of 12 planted partners among the 3 nearest")
    }

    func testSkipGramSampledSoftmaxLearnsPlantedPairs() throws {
        let (trainer, corpus) = try trainPlanted(loss: .sampled, model: .skipgram, window: nil, backend: TestBackends.cpu)
        try assertPartnersAreNeighbours(trainer, corpus, "skip-gram sampled")
    }

    func testSkipGramNegativeSamplingLearnsPlantedPairs() throws {
        let (trainer, corpus) = try trainPlanted(loss: .negative, model: .skipgram, window: 2, backend: TestBackends.cpu)
        try assertPartnersAreNeighbours(trainer, corpus, "skip-gram negative")
    }

    func testCBOWLearnsPlantedPairs() throws {
        let (trainer, corpus) = try trainPlanted(loss: .negative, model: .cbow, window: 2, backend: TestBackends.cpu)
        try assertPartnersAreNeighbours(trainer, corpus, "cbow negative")
    }

    func testFullSoftmaxLearnsPlantedPairs() throws {
        let (trainer, corpus) = try trainPlanted(loss: .softmax, model: .skipgram, window: nil, backend: TestBackends.cpu)
        try assertPartnersAreNeighbours(trainer, corpus, "skip-gram full softmax")
    }

    func testTrainingStepParityCPUOpenCL() throws {
        let device = try TestBackends.openCL()
        let corpus = try Corpus.load(try plantedCorpus(length: 3000), options: CorpusOptions(minCount: 1))
        for (loss, model, window) in [(Word2VecConfig.Loss.sampled, Word2VecConfig.Model.skipgram, Int?.none),
                                      (.negative, .cbow, 3), (.softmax, .skipgram, nil)] {
            var config = Word2VecConfig.defaults(model: model, loss: loss, window: window)
            config.dimension = 16
            config.numSampled = loss == .sampled ? 20 : 4
            config.steps = 5
            var results: [[Float]] = []
            for be in [TestBackends.cpu as any Backend, device] {
                let trainer = try Word2VecTrainer(corpus: corpus, config: config, backend: be)
                trainer.evalEvery = nil
                trainer.workers = 1   // the fused path (negative, CBOW) is deterministic with one worker
                _ = try trainer.run()
                results.append(try be.floats(trainer.model.embeddings) + be.floats(trainer.model.weights))
            }
            assertClose(results[1], results[0], atol: 1e-4, rtol: 1e-3, "\(loss) \(model) after 5 steps")
        }
    }

    func testResumeContinuesExactly() throws {
        let corpus = try Corpus.load(try plantedCorpus(length: 3000), options: CorpusOptions(minCount: 1))
        var config = Word2VecConfig.defaults(model: .skipgram, loss: .sampled, window: nil)
        config.dimension = 16
        config.numSampled = 20
        config.steps = 40
        let be = TestBackends.cpu
        let straight = try Word2VecTrainer(corpus: corpus, config: config, backend: be)
        straight.evalEvery = nil
        _ = try straight.run()

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-ckpt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var half = config
        half.steps = 20
        let first = try Word2VecTrainer(corpus: corpus, config: half, backend: be)
        first.evalEvery = nil
        first.checkpointURL = dir.appendingPathComponent("run.ckpt")
        first.saveEvery = 20
        _ = try first.run()
        let second = try Word2VecTrainer(corpus: corpus, config: config, backend: be)
        second.evalEvery = nil
        try second.resume(from: dir.appendingPathComponent("run.ckpt"))
        let summary = try second.run()
        XCTAssertEqual(summary.steps, 40)
        XCTAssertEqual(try be.floats(second.model.embeddings), try be.floats(straight.model.embeddings))

        // The same checkpoint resumes on OpenCL and stays close to the CPU run.
        if let device = try? TestBackends.openCL() {
            let other = try Word2VecTrainer(corpus: corpus, config: config, backend: device)
            other.evalEvery = nil
            try other.resume(from: dir.appendingPathComponent("run.ckpt"))
            _ = try other.run()
            assertClose(try device.floats(other.model.embeddings), try be.floats(straight.model.embeddings),
                        atol: 1e-3, rtol: 1e-3, "resumed on OpenCL")
        }
        // A different configuration is refused.
        var other = config
        other.dimension = 8
        let wrong = try Word2VecTrainer(corpus: corpus, config: other, backend: be)
        assertThrows("other settings") { try wrong.resume(from: dir.appendingPathComponent("run.ckpt")) }
        // A damaged checkpoint is a clear error.
        let url = dir.appendingPathComponent("run.ckpt")
        var bytes = [UInt8](try Data(contentsOf: url))
        bytes.removeLast(100)
        try Data(bytes).write(to: url)
        assertThrows("not a valid Loom checkpoint") { try second.resume(from: url) }
    }

    // MARK: Fused negative sampling (HogBatch)

    /// A small pass problem: a skewed corpus of `v` words in sentences of 100, odd dimension,
    /// frequent words subsampled, random starting rows on both sides.
    struct PassProblem {
        var corpus: [Int32] = [], keep: [Float] = [], noise: (probability: [Float], alias: [Int32])
        var input: [Float], output: [Float]
        let v = 40, d = 13
        var pass = Word2VecPass()

        init(cbow: Bool, seed: UInt64 = 5) {
            var data = TestData(seed: seed)
            var rng = SeededGenerator(seed: seed)
            var counts = [Double](repeating: 0, count: v)
            for _ in 0..<2_345 {
                // Roughly Zipf: low ids are frequent.
                let id = Int32(min(v - 1, Int(Double(v) * pow(rng.nextDouble(), 2.5))))
                corpus.append(id)
                counts[Int(id)] += 1
            }
            keep = counts.map { $0 > 150 ? Float(150 / $0) : 1 }
            noise = AliasSampler(weights: counts.map { pow($0 + 1, 0.75) }).table
            input = data.uniform(v * d, -0.5, 0.5)
            output = data.uniform(v * d, -0.5, 0.5)
            pass.cbow = cbow
            pass.window = 3
            pass.negatives = 4
            pass.sentenceLength = 100
            pass.firstSentence = 2
            pass.sentenceCount = 20
            pass.learningRate = 0.05
            pass.finalLearningRate = 0.01
            pass.seed = 77
            pass.stream = 3
            pass.workers = 1
        }

        /// The pass on `be`; `windowed`: the tables hold only the pass's own sentences
        /// (`corpusFirstSentence`), as a corpus too large for the device is trained.
        func run(on be: any Backend, windowed: Bool = false) throws -> (input: [Float], output: [Float], stats: [Float]) {
            var pass = self.pass
            var ids = corpus
            if windowed {
                let l = pass.sentenceLength
                ids = Array(corpus[pass.firstSentence * l ..< min((pass.firstSentence + pass.sentenceCount) * l, corpus.count)])
                pass.corpusFirstSentence = pass.firstSentence
            }
            let tables = try Word2VecTables(corpus: ids, keep: keep, aliasProbability: noise.probability,
                                            aliasIndex: noise.alias, on: be)
            let i = try be.tensor(input, shape: [v, d]), o = try be.tensor(output, shape: [v, d]), stats = try be.zeros([2])
            try be.word2vecPass(pass, tables: tables, input: i, output: o, stats: stats)
            return (try be.floats(i), try be.floats(o), try be.floats(stats))
        }

        // The definition, transcribed: splitmix draws, subsampling, shrunk windows, alias
        // negatives, word2vec.c's sigmoid table, scores from the rows as the window found them.
        static func mix(_ x: UInt64) -> UInt64 {
            var z = x
            z ^= z >> 30; z = z &* 0xBF58_476D_1CE4_E5B9
            z ^= z >> 27; z = z &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        func reference() -> (input: [Float], output: [Float], stats: [Double]) {
            var x = input.map(Double.init), y = output.map(Double.init)
            let table = Word2VecTables.sigmoidTable().map(Double.init), size = 1000, maxExp = 6.0
            func error(_ f: Double, _ label: Double) -> Double {
                if f > maxExp { return label - 1 }
                if f < -maxExp { return label }
                return label - table[Int((f + maxExp) * (Double(size) / maxExp / 2))]
            }
            func nls(_ f: Double) -> Double {
                if f > maxExp { return 0 }
                if f < -maxExp { return -f }
                return table[size + 1 + Int((f + maxExp) * (Double(size) / maxExp / 2))]
            }
            var loss = 0.0, pairs = 0.0
            let L = pass.sentenceLength, K = pass.negatives
            for s in pass.firstSentence..<(pass.firstSentence + pass.sentenceCount) {
                let key = Self.mix(pass.seed ^ Self.mix(pass.stream ^ Self.mix(UInt64(s) &+ 0x9E37_79B9_7F4A_7C15)))
                func draw(_ i: Int) -> UInt64 { Self.mix(key &+ UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15) }
                let lr = Double(pass.learningRate) + Double(pass.finalLearningRate - pass.learningRate)
                    * Double(Float(s - pass.firstSentence) / Float(pass.sentenceCount))
                var kept: [Int] = []
                for q in (s * L)..<min((s + 1) * L, corpus.count) {
                    let w = Int(corpus[q])
                    if keep[w] >= 1 || Float(draw(q - s * L) >> 40) / 16_777_216 < keep[w] { kept.append(w) }
                }
                for i in kept.indices {
                    let base = L + i * (1 + K)
                    let reach = pass.window - Int(UInt32(draw(base) >> 32) % UInt32(pass.window))
                    let contexts = (max(0, i - reach)...min(kept.count - 1, i + reach)).filter { $0 != i }.map { kept[$0] }
                    if contexts.isEmpty { continue }
                    var targets = [kept[i]]
                    for k in 1...K {
                        let r = draw(base + k), column = Int(((r >> 32) * UInt64(v)) >> 32)
                        let id = Float(r & 0xFF_FFFF) / 16_777_216 < noise.probability[column] ? column : Int(noise.alias[column])
                        targets.append(id == kept[i] ? -1 : id)
                    }
                    func dot(_ a: [Double], _ r: Int) -> Double { (0..<d).reduce(0) { $0 + a[$1] * y[r * d + $1] } }
                    func row(_ m: [Double], _ r: Int) -> [Double] { Array(m[(r * d)..<((r + 1) * d)]) }
                    if !pass.cbow {
                        var g = [[Double]](repeating: [Double](repeating: 0, count: K + 1), count: contexts.count)
                        for (a, c) in contexts.enumerated() {
                            for (t, target) in targets.enumerated() where target >= 0 {
                                let f = dot(row(x, c), target)
                                g[a][t] = error(f, t == 0 ? 1 : 0) * lr
                                loss += nls(t == 0 ? f : -f)
                            }
                        }
                        pairs += Double(contexts.count)
                        let oldX = x, oldY = y
                        for (t, target) in targets.enumerated() where target >= 0 {
                            for (a, c) in contexts.enumerated() { for j in 0..<d { y[target * d + j] += g[a][t] * oldX[c * d + j] } }
                        }
                        for (a, c) in contexts.enumerated() {
                            for (t, target) in targets.enumerated() where target >= 0 {
                                for j in 0..<d { x[c * d + j] += g[a][t] * oldY[target * d + j] }
                            }
                        }
                    } else {
                        var h = [Double](repeating: 0, count: d)
                        for c in contexts { for j in 0..<d { h[j] += x[c * d + j] } }
                        if pass.cbowMean { h = h.map { $0 / Double(contexts.count) } }
                        var g = [Double](repeating: 0, count: K + 1)
                        for (t, target) in targets.enumerated() where target >= 0 {
                            let f = dot(h, target)
                            g[t] = error(f, t == 0 ? 1 : 0) * lr
                            loss += nls(t == 0 ? f : -f)
                        }
                        pairs += 1
                        var gh = [Double](repeating: 0, count: d)
                        for (t, target) in targets.enumerated() where target >= 0 { for j in 0..<d { gh[j] += g[t] * y[target * d + j] } }
                        for (t, target) in targets.enumerated() where target >= 0 { for j in 0..<d { y[target * d + j] += g[t] * h[j] } }
                        for c in contexts { for j in 0..<d { x[c * d + j] += gh[j] } }
                    }
                }
            }
            return (x.map(Float.init), y.map(Float.init), [loss, pairs])
        }
    }

    func testFusedPassMatchesItsDefinition() throws {
        for cbow in [false, true] {
            let problem = PassProblem(cbow: cbow)
            let cpu = try problem.run(on: TestBackends.cpu), reference = problem.reference()
            let label = cbow ? "CBOW" : "skip-gram"
            XCTAssertNotEqual(cpu.input, problem.input, "\(label): the pass changed nothing")
            assertClose(cpu.input, reference.input, atol: 1e-4, rtol: 1e-3, "\(label) input rows")
            assertClose(cpu.output, reference.output, atol: 1e-4, rtol: 1e-3, "\(label) output rows")
            XCTAssertEqual(Double(cpu.stats[1]), reference.stats[1], "\(label) pairs")
            XCTAssertEqual(Double(cpu.stats[0]), reference.stats[0], accuracy: 1e-3 * reference.stats[0], "\(label) loss")
            // One worker is deterministic.
            XCTAssertEqual(try problem.run(on: TestBackends.cpu).input, cpu.input)
        }
    }

    /// A window of the corpus (its sentences only, numbered as in the whole corpus) trains
    /// exactly as the whole corpus does, on both backends; a pass outside the window is refused.
    func testFusedPassOverAWindowEqualsTheWholeCorpus() throws {
        var backends: [(String, any Backend)] = [("CPU", TestBackends.cpu)]
        if let device = try? TestBackends.openCL() { backends.append(("OpenCL", device)) }
        for (name, be) in backends {
            let problem = PassProblem(cbow: false, seed: 5)
            let whole = try problem.run(on: be), window = try problem.run(on: be, windowed: true)
            XCTAssertEqual(window.input, whole.input, "\(name): input rows")
            XCTAssertEqual(window.output, whole.output, "\(name): output rows")
            XCTAssertEqual(window.stats, whole.stats, "\(name): loss and pairs")
            // Tables of sentences 2 ..< 22: sentence 1 and sentence 22 are outside them.
            let tables = try Word2VecTables(corpus: Array(problem.corpus[200..<2200]), keep: problem.keep,
                                            aliasProbability: problem.noise.probability, aliasIndex: problem.noise.alias, on: be)
            let rows = try be.zeros([problem.v, problem.d]), other = try be.zeros([problem.v, problem.d]), stats = try be.zeros([2])
            for (first, count) in [(1, 5), (20, 3)] {
                var pass = problem.pass
                pass.corpusFirstSentence = 2
                pass.firstSentence = first
                pass.sentenceCount = count
                assertLoomError(.invalidArgument, "\(name): sentences \(first)..<\(first + count)") {
                    try be.word2vecPass(pass, tables: tables, input: rows, output: other, stats: stats)
                }
            }
        }
    }

    func testFusedPassParityCPUOpenCL() throws {
        let device = try TestBackends.openCL()
        for cbow in [false, true] {
            var problem = PassProblem(cbow: cbow, seed: 9)
            problem.pass.cbowMean = !cbow   // CBOW with a sum here; the mean is in the definition test
            let cpu = try problem.run(on: TestBackends.cpu), gpu = try problem.run(on: device)
            let label = cbow ? "CBOW" : "skip-gram"
            assertClose(gpu.input, cpu.input, atol: 1e-4, rtol: 1e-3, "\(label) input rows on OpenCL")
            assertClose(gpu.output, cpu.output, atol: 1e-4, rtol: 1e-3, "\(label) output rows on OpenCL")
            XCTAssertEqual(gpu.stats[1], cpu.stats[1], "\(label) pairs on OpenCL")
            XCTAssertEqual(gpu.stats[0], cpu.stats[0], accuracy: 1e-3 * cpu.stats[0], "\(label) loss on OpenCL")
            // Many groups at once (Hogwild) still run every window.
            problem.pass.workers = 0
            XCTAssertEqual(try problem.run(on: device).stats[1], cpu.stats[1], "\(label) pairs with many work-groups")
        }
    }

    func testFusedPassLearnsOnOpenCL() throws {
        let device = try TestBackends.openCL()
        let (trainer, corpus) = try trainPlanted(loss: .negative, model: .skipgram, window: 2, backend: device)
        try assertPartnersAreNeighbours(trainer, corpus, "skip-gram negative on OpenCL")
    }

    /// The fused path with one worker: a run resumed from a checkpoint of step 2 ends with the
    /// very bits of the uninterrupted run (one fused step is one epoch of this small corpus).
    func testFusedResumeIsBitIdentical() throws {
        let corpus = try Corpus.load(try plantedCorpus(length: 3000), options: CorpusOptions(minCount: 1))
        var config = Word2VecConfig.defaults(model: .skipgram, loss: .negative, window: 3)
        config.dimension = 16
        config.epochs = 5
        let be = TestBackends.cpu
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-fused-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func trainer() throws -> Word2VecTrainer {
            let t = try Word2VecTrainer(corpus: corpus, config: config, backend: be)
            t.evalEvery = nil
            t.workers = 1
            return t
        }
        let straight = try trainer()
        straight.checkpointURL = dir.appendingPathComponent("run.ckpt")
        straight.saveEvery = 1
        straight.onCheckpoint = { step, url in
            if step == 2 { try? FileManager.default.copyItem(at: url, to: dir.appendingPathComponent("step2.ckpt")) }
        }
        XCTAssertEqual(try straight.run().steps, 5)
        let resumed = try trainer()
        try resumed.resume(from: dir.appendingPathComponent("step2.ckpt"))
        XCTAssertEqual(try resumed.run().steps, 5)
        XCTAssertEqual(try be.floats(resumed.model.embeddings), try be.floats(straight.model.embeddings))
        XCTAssertEqual(try be.floats(resumed.model.weights), try be.floats(straight.model.weights))
    }

    func testFusedPassChecksItsOperands() throws {
        let be = TestBackends.cpu
        let problem = PassProblem(cbow: false)
        let tables = try Word2VecTables(corpus: problem.corpus, keep: problem.keep, aliasProbability: problem.noise.probability,
                                        aliasIndex: problem.noise.alias, on: be)
        let x = try be.zeros([problem.v, problem.d]), stats = try be.zeros([2])
        var pass = problem.pass
        pass.sentenceCount = 30
        assertLoomError(.invalidArgument) { try be.word2vecPass(pass, tables: tables, input: x, output: x, stats: stats) }
        pass = problem.pass
        pass.window = 0
        assertLoomError(.invalidArgument) { try be.word2vecPass(pass, tables: tables, input: x, output: x, stats: stats) }
        let narrow = try be.zeros([problem.v - 1, problem.d])
        assertLoomError(.shapeMismatch) { try be.word2vecPass(problem.pass, tables: tables, input: narrow, output: narrow, stats: stats) }
        let error = assertLoomError(.indexOutOfRange) {
            _ = try Word2VecTables(corpus: [1, 40], keep: problem.keep, aliasProbability: problem.noise.probability,
                                   aliasIndex: problem.noise.alias, on: be)
        }
        XCTAssertEqual(error, .indexOutOfRange(op: "word2vec tables", index: 40, bound: 40))
    }

    // MARK: Bad input

    func testBadCorporaAreClearErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        assertThrows("no such file") { _ = try Corpus.load(dir.appendingPathComponent("missing.txt")) }
        let empty = dir.appendingPathComponent("empty.txt")
        try Data().write(to: empty)
        assertThrows("is empty") { _ = try Corpus.load(empty) }
        let binary = dir.appendingPathComponent("binary.bin")
        try Data([0x7F, 0x45, 0x4C, 0x46, 0, 0, 1, 2, 3]).write(to: binary)
        assertThrows("binary") { _ = try Corpus.load(binary) }
        assertThrows("folder") { _ = try Corpus.load(dir) }
        let spaces = dir.appendingPathComponent("spaces.txt")
        try Data("   \n\n  ".utf8).write(to: spaces)
        assertThrows("no words") { _ = try Corpus.load(spaces) }

        let small = try Corpus.load(try corpusFile("one two three one two"), options: CorpusOptions(minCount: 1))
        var config = Word2VecConfig()
        config.numSampled = 64
        assertThrows("smaller than the vocabulary") { _ = try Word2VecTrainer(corpus: small, config: config, backend: TestBackends.cpu) }
        config.numSampled = 2
        config.batching = .course(skipWindow: 3, numSkips: 2)
        assertThrows("fewer than one window") { _ = try Word2VecTrainer(corpus: small, config: config, backend: TestBackends.cpu) }
        config.batching = .course(skipWindow: 1, numSkips: 3)
        assertThrows("--num-skips") { _ = try Word2VecTrainer(corpus: small, config: config, backend: TestBackends.cpu) }
        config.batching = .course(skipWindow: 1, numSkips: 2)
        config.sample = 1e-3
        assertThrows("--sample needs") { _ = try Word2VecTrainer(corpus: small, config: config, backend: TestBackends.cpu) }
    }

    func testVocabularyRanksLikeTheCourse() throws {
        let corpus = try Corpus.load(try corpusFile("b a c a b a d e e e e"), options: CorpusOptions(maxVocabulary: 3, minCount: 1))
        XCTAssertEqual(corpus.vocabulary.words, ["UNK", "e", "a"])
        XCTAssertEqual(corpus.vocabulary.counts, [4, 4, 3])
        XCTAssertEqual(corpus.ids, [0, 2, 0, 2, 0, 2, 0, 1, 1, 1, 1])
        let dropped = try Corpus.load(try corpusFile("b a c a b a d e e e e"),
                                      options: CorpusOptions(maxVocabulary: 2, minCount: 1, outOfVocabulary: .drop))
        XCTAssertEqual(dropped.vocabulary.words, ["e", "a"])
        XCTAssertEqual(dropped.ids, [1, 1, 1, 0, 0, 0, 0])
    }

    func testText8Normalisation() throws {
        let corpus = try Corpus.load(try corpusFile("In 1984, Orwell's “Big” Brother!"),
                                     options: CorpusOptions(minCount: 1, normalization: .text8))
        XCTAssertEqual(corpus.ids.map { corpus.vocabulary.words[Int($0)] },
                       ["in", "one", "nine", "eight", "four", "orwell", "s", "big", "brother"])
    }
}
