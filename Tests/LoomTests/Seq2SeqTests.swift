import Foundation
import Loom
import XCTest

/// The sequence-to-sequence model learns, decodes by the shared decoder, scores as sacrebleu,
/// checkpoints and resumes exactly, and refuses bad input clearly.
final class Seq2SeqTests: XCTestCase {
    let be = TestBackends.cpu

    /// Random strings over "abcdef" of 1…`maxLength` letters, paired with `transform` of them.
    func pairs(_ n: Int, maxLength: Int = 6, seed: UInt64, _ transform: (String) -> String) -> [SequencePair] {
        var rng = SeededGenerator(seed: seed)
        let letters = Array("abcdef")
        return (0..<n).map { _ in
            let k = 1 + Int(rng.next() % UInt64(maxLength))
            let s = String((0..<k).map { _ in letters[Int(rng.next() % 6)] })
            return SequencePair(source: s, references: [transform(s)])
        }
    }

    func tinyConfig(_ attention: Seq2SeqConfig.AttentionKind) -> Seq2SeqConfig {
        var c = Seq2SeqConfig()
        c.hidden = 48
        c.embedding = 16
        c.attention = attention
        c.batchSize = 32
        c.learningRate = 0.01
        c.steps = 1_000
        c.seed = 3
        return c
    }

    func testLearnsToCopyAndReverseExactly() throws {
        // With attention, exactly; without (the whole source squeezed into one state), nearly.
        for (attention, transform, bar) in [(Seq2SeqConfig.AttentionKind.general, { (s: String) in s }, 1.0),
                                            (.dot, { (s: String) in String(s.reversed()) }, 1.0), (.none, { $0 }, 0.9)] {
            let train = pairs(2_000, seed: 1, transform), test = pairs(100, seed: 2, transform)
            let trainer = try Seq2SeqTrainer(train: train, valid: Array(test.prefix(20)), config: tinyConfig(attention), backend: be)
            trainer.evalEvery = 0
            let summary = try trainer.run()
            let translator = Translator(model: trainer.model)
            var unknown: [String] = []
            let outputs = try translator.greedy(try test.map { try translator.encode($0.source, unknown: &unknown) })
            let report = Scoring.report(outputs.map(\.text), test.map(\.references))
            XCTAssertGreaterThanOrEqual(report.exactMatch, bar, "attention \(attention): \(report.exact)/\(report.count) exact; "
                           + "e.g. \(test[0].source) → \(outputs[0].text); loss \(summary.trainingLoss ?? .nan)")
            XCTAssertLessThan(summary.trainingLoss ?? 9, 0.05, "attention \(attention)")
        }
    }

    /// Every parameter's gradient through the whole model — embeddings, both encoders (variable
    /// lengths), the decoder from the encoders' state, attention, dropout, padded softmax — against
    /// central differences of the model's own loss.
    func testWholeModelGradientsMatchFiniteDifferences() throws {
        for attention in [Seq2SeqConfig.AttentionKind.general, .none] {
            var c = Seq2SeqConfig()
            c.layers = 2
            c.hidden = 5
            c.embedding = 3
            c.attention = attention
            c.bidirectional = attention != .none
            c.dropout = 0.2
            c.seed = 9
            let vocabulary = SequenceVocabulary(units: .char, symbols: ["<unk>", "<s>", "</s>", "a", "b", "c"])
            let model = try Seq2SeqModel(config: c, source: vocabulary, target: vocabulary, backend: be)
            let ws = try model.workspace(batch: 3, sourceSteps: 4, targetSteps: 4, training: true)
            try model.upload(sources: [[3, 4, 5, 3], [4], [5, 3]], targets: [[5, 4], [3, 3, 4], [4]], into: ws)
            func loss() throws -> Double {
                try model.forward(ws, training: true, step: 3)
                return try model.takeLoss(ws)!
            }
            _ = try loss()
            try model.backward(ws, step: 3)
            let analytic = try be.floats(model.store.gradients)
            var values = try be.floats(model.store.values)
            var checked = 0
            for i in stride(from: 0, to: values.count, by: max(1, values.count / 150)) {
                let v = values[i], eps: Float = 1e-2
                values[i] = v + eps
                try be.upload(values, to: model.store.values)
                let up = try loss()
                values[i] = v - eps
                try be.upload(values, to: model.store.values)
                let down = try loss()
                values[i] = v
                let numeric = (up - down) / Double(2 * eps)
                let name = model.store.parameters.first { p in
                    p.value.offset <= i && i < p.value.offset + p.value.count
                }!.name
                XCTAssertEqual(Double(analytic[i]), numeric, accuracy: 2e-3 + 0.05 * abs(numeric),
                               "\(attention): ∂loss/∂\(name)[\(i)]")
                checked += 1
            }
            try be.upload(values, to: model.store.values)
            XCTAssertGreaterThan(checked, 100)
        }
    }

    /// Training steps and decoding on OpenCL equal the CPU reference.
    func testTrainingAndDecodingParityCPUOpenCL() throws {
        let train = pairs(200, seed: 8) { String($0.reversed()) }
        for bidirectional in [false, true] {
            var c = tinyConfig(.general)
            c.steps = 3
            c.dropout = 0.1
            c.bidirectional = bidirectional
            try checkParity("seq2seq steps, bidirectional \(bidirectional)", atol: 2e-4, rtol: 2e-3) { be in
                let trainer = try Seq2SeqTrainer(train: train, valid: [], config: c, backend: be)
                _ = try trainer.run()
                let translator = Translator(model: trainer.model)
                var unknown: [String] = []
                let ids = try translator.encode("abcdef", unknown: &unknown)
                let beam = try translator.decode(ids, decoding: .beam(width: 3, lengthNormalization: true))
                let greedy = try translator.greedy([ids, try translator.encode("fa", unknown: &unknown)])
                return [("parameters", try be.floats(trainer.model.store.values)),
                        ("beam", beam.ids.map(Float.init) + [Float(beam.logProbability)]),
                        ("greedy", greedy.flatMap { $0.ids.map(Float.init) })]
            }
        }
    }

    func testBeamOfOneIsGreedyAndBeamsAreTrueLogProbabilities() throws {
        let train = pairs(1_000, seed: 4) { String($0.reversed()) }
        var c = tinyConfig(.general)
        c.steps = 60
        let trainer = try Seq2SeqTrainer(train: train, valid: [], config: c, backend: be)
        _ = try trainer.run()
        let translator = Translator(model: trainer.model)
        var unknown: [String] = []
        for source in ["abc", "fedcba", "a"] {
            let ids = try translator.encode(source, unknown: &unknown)
            let greedy = try translator.greedy([ids])[0]
            let one = try translator.decode(ids, decoding: .beam(width: 1, lengthNormalization: false))
            let stepwiseGreedy = try translator.decode(ids, decoding: .greedy)
            XCTAssertEqual(one.ids, greedy.ids, source)
            XCTAssertEqual(stepwiseGreedy.ids, greedy.ids, source)
            XCTAssertEqual(one.logProbability, greedy.logProbability, accuracy: 1e-3)
            let four = try translator.decode(ids, decoding: .beam(width: 4, lengthNormalization: false))
            XCTAssertGreaterThanOrEqual(four.logProbability, greedy.logProbability - 1e-4, source)
        }
    }

    /// A hand-built model where the greedy first choice leads to a poor sequence.
    final class TableScorer: StepScorer {
        // Symbols 0 = </s>, 1, 2. First: P(1) = 0.6, P(2) = 0.4. After 1: all three 1/3.
        // After 2: </s> with 0.9.
        var rows: [Int32] = []
        func table(_ last: Int32?) -> [Float] {
            switch last {
            case nil: return [0.0001, 0.6, 0.3999].map(logf)
            case 1?: return [1.0 / 3, 1.0 / 3, 1.0 / 3].map(logf)
            default: return [0.9, 0.05, 0.05].map(logf)
            }
        }
        func start() throws -> [Float] { rows = [-1]; return table(nil) }
        func advance(parents: [Int], symbols: [Int32]) throws -> [[Float]] {
            rows = symbols
            return symbols.map { table($0) }
        }
    }

    func testBeamFindsAMoreProbableOutputThanGreedy() throws {
        let greedy = try SequenceDecoder.decode(TableScorer(), decoding: .greedy, length: 3, stop: 0)
        let beam = try SequenceDecoder.decode(TableScorer(), decoding: .beam(width: 2, lengthNormalization: false),
                                              length: 3, stop: 0)
        XCTAssertEqual(greedy.symbols.first, 1)
        XCTAssertEqual(beam.symbols, [2, 0])
        XCTAssertGreaterThan(beam.logProbability, greedy.logProbability)
        XCTAssertEqual(beam.logProbability, Double(logf(0.3999) + logf(0.9)), accuracy: 1e-5)
    }

    func testCheckpointResumeAndDecodingAfterResumeAreIdentical() throws {
        let train = pairs(600, seed: 5) { String($0.reversed()) }, valid = pairs(20, seed: 6) { String($0.reversed()) }
        var c = tinyConfig(.general)
        c.steps = 40
        c.dropout = 0.1
        let straight = try Seq2SeqTrainer(train: train, valid: valid, config: c, backend: be)
        straight.evalEvery = 0
        _ = try straight.run()

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-s2s-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("m.ckpt")
        var half = c
        half.steps = 25
        let first = try Seq2SeqTrainer(train: train, valid: valid, config: half, backend: be)
        first.evalEvery = 0
        first.checkpointURL = url
        first.saveEvery = 25
        _ = try first.run()
        let second = try Seq2SeqTrainer(train: train, valid: valid, config: c, backend: be)
        second.evalEvery = 0
        try second.resume(from: url)
        _ = try second.run()
        XCTAssertEqual(try be.floats(second.model.store.values), try be.floats(straight.model.store.values))
        XCTAssertEqual(try be.floats(second.model.store.state[1]), try be.floats(straight.model.store.state[1]))

        try second.saveCheckpoint(to: url, step: 40)
        let loaded = try Seq2SeqTrainer.loadModel(from: url, backend: be)
        var unknown: [String] = []
        let a = Translator(model: loaded), b = Translator(model: straight.model)
        let ids = try a.encode("abcd", unknown: &unknown)
        XCTAssertEqual(try a.decode(ids, decoding: .beam(width: 3, lengthNormalization: true)).ids,
                       try b.decode(ids, decoding: .beam(width: 3, lengthNormalization: true)).ids)
        // Other settings are refused; symbols the model lacks are an error for characters.
        var wider = c
        wider.hidden = 50
        assertThrows("other settings") { try Seq2SeqTrainer(train: train, valid: valid, config: wider, backend: self.be).resume(from: url) }
        assertThrows("never saw: 'z'") { _ = try a.encode("abz", unknown: &unknown) }
    }

    func testPairFilesAndLengthLimitsAreClearErrors() throws {
        assertThrows("2: no tab") { _ = try PairFile.parse("a\tb\nab\n", source: "p.tsv") }
        assertThrows("1: the source side is empty") { _ = try PairFile.parse("\tb\n", source: "p.tsv") }
        assertThrows("1: the target side is empty") { _ = try PairFile.parse("a\t \n", source: "p.tsv") }
        assertThrows("has no pairs") { _ = try PairFile.parse("\n\n", source: "p.tsv") }
        let p = try PairFile.parse("Guten Morgen.\tGood morning.\tMorning.\r\n", source: "p.tsv")
        XCTAssertEqual(p, [SequencePair(source: "Guten Morgen.", references: ["Good morning.", "Morning."], line: 1)])
        var c = tinyConfig(.none)
        c.maxLength = 3
        let long = [SequencePair(source: "abcd", references: ["x"], line: 7), SequencePair(source: "ab", references: ["y"], line: 8)]
        assertThrows("1 training pairs are longer than --max-length 3 tokens (lines 7)") {
            _ = try Seq2SeqTrainer(train: long, valid: [], config: c, backend: self.be)
        }
    }

    /// Byte-pair encoding learns Sennrich et al.'s merges on their example and splits text into
    /// pieces that join back to the same words; a subword model trains, saves and loads.
    func testBytePairEncoding() throws {
        let bpe = BytePairEncoding.learn(["low": 5, "lower": 2, "newest": 6, "widest": 3], merges: 5)
        // "low" ends in "w</w>", so (lo, w) is seen only in "lower"; ties go to the first in order.
        XCTAssertEqual(bpe.merges, [["e", "s"], ["es", "t</w>"], ["l", "o"], ["e", "w"], ["ew", "est</w>"]])
        XCTAssertEqual(bpe.pieces("newest"), ["n@@", "ewest"])
        XCTAssertEqual(bpe.pieces("lowest"), ["lo@@", "w@@", "est"])
        XCTAssertEqual(bpe.pieces("x"), ["x"])
        XCTAssertEqual(bpe.pieces("newest") { $0 != "ewest" }, ["n@@", "ew@@", "est"], "pieces outside a vocabulary split back")
        XCTAssertEqual(bpe.pieces("newest") { !["ewest", "ew@@", "est"].contains($0) }, ["n@@", "e@@", "w@@", "es@@", "t"])
        XCTAssertEqual(BytePairEncoding.learn(["ab": 1, "cd": 1], merges: 10).merges, [], "no pair is seen twice")
        let text = "Er tut bei der Arbeit nur das Nötigste, oder? Ihm wurde das Herz schwer."
        let vocabulary = SequenceVocabulary.learn([text, "Das Herz ist schwer."], units: .bpe, merges: 30)
        let pieces = vocabulary.tokens(text)
        XCTAssertGreaterThan(pieces.count, Tokens.split(text, .word).count, "some words split")
        XCTAssertEqual(Tokens.join(pieces, .bpe), Tokens.join(Tokens.split(text, .word), .word))
        XCTAssertEqual(try JSONDecoder().decode(SequenceVocabulary.self, from: JSONEncoder().encode(vocabulary)), vocabulary)

        var c = tinyConfig(.general)
        c.sourceUnits = .bpe
        c.targetUnits = .bpe
        c.merges = 12
        c.steps = 20
        c.wordDropout = 0.2
        let words = pairs(300, seed: 4) { String($0.reversed()) }.map { SequencePair(source: $0.source + " " + $0.target, references: [$0.target]) }
        let trainer = try Seq2SeqTrainer(train: words, valid: Array(words.prefix(10)), config: c, backend: be)
        trainer.evalEvery = 0
        _ = try trainer.run()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bpe-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("m.ckpt")
        try trainer.saveCheckpoint(to: url, step: 20)
        let loaded = try Seq2SeqTrainer.loadModel(from: url, backend: be)
        XCTAssertEqual(loaded.source, trainer.model.source)
        var unknown: [String] = []
        _ = try Translator(model: loaded).encode(words[0].source + " zzz", unknown: &unknown)
        XCTAssertEqual(unknown, ["z@@", "z@@", "z"], "unknown pieces become <unk> for subwords")
    }

    /// Word dropout replaces source and decoder-input symbols by `<unk>` (never the labels), the
    /// same way for the same step.
    func testWordDropoutHitsInputsNotLabels() throws {
        let vocabulary = SequenceVocabulary(units: .char, symbols: ["<unk>", "<s>", "</s>", "a", "b"])
        let model = try Seq2SeqModel(config: tinyConfig(.none), source: vocabulary, target: vocabulary, backend: be)
        let ws = try model.workspace(batch: 1, sourceSteps: 40, targetSteps: 41, training: true)
        let x = [Int32](repeating: 3, count: 40)
        func ids(_ step: Int?) throws -> (source: [Int32], input: [Int32], labels: [Int32]) {
            try model.upload(sources: [x], targets: [x], into: ws, wordDropout: step.map { (0.5, $0) })
            return (try be.ints(ws.sourceIDs), try be.ints(ws.decoderInputs), try be.ints(ws.labels))
        }
        let plain = try ids(nil), a = try ids(7), b = try ids(7), other = try ids(8)
        XCTAssertEqual(plain.source, x)
        let dropped = a.source.filter { $0 == SequenceVocabulary.unknown }.count
        XCTAssert((8...32).contains(dropped), "\(dropped) of 40 dropped at rate 0.5")
        XCTAssertEqual(a.input[0], SequenceVocabulary.start, "<s> is never dropped")
        XCTAssertGreaterThan(a.input.filter { $0 == SequenceVocabulary.unknown }.count, 5)
        XCTAssertEqual(a.labels, plain.labels)
        XCTAssertEqual(a.source, b.source)
        XCTAssertEqual(a.input, b.input)
        XCTAssertNotEqual(a.source, other.source)
    }

    func testTokensAndMirroredWindows() {
        XCTAssertEqual(Tokens.split("Ich hab's, oder?", .word), ["Ich", "hab's", ",", "oder", "?"])
        XCTAssertEqual(Tokens.join(["I", "don't", "know", ",", "do", "you", "?"], .word), "I don't know, do you?")
        let words = ["the", "quick", "brown", "fox", "jumps", "over"]
        let w = PairFile.mirroredWindows(words[...], minWords: 2, maxWords: 3, count: 10, seed: 1)
        XCTAssertFalse(w.isEmpty)
        for p in w {
            XCTAssertEqual(p.target, p.source.split(separator: " ").map { String($0.reversed()) }.joined(separator: " "))
        }
        XCTAssertEqual(PairFile.mirroredWindows(["the", "quick", "brown", "fox"][...], minWords: 4, maxWords: 4, count: 1, seed: 1)[0].target,
                       "eht kciuq nworb xof")
    }

    /// chrF and BLEU against the real sacrebleu package (installed by scripts/setup.sh).
    func testScoresEqualSacrebleu() throws {
        let hyps = ["The cat sat on the mat.", "I don't know, do you?", "He's 3.5 years-old", "", "a b c d e f"]
        let refs = [["The cat is on the mat.", "A cat sat on the mat."], ["I do not know, do you?"],
                    ["He is 3.5 years old", "He's 3-4 years old."], ["Nothing here."], ["a b c d e g"]]
        let script = """
        import json, sys, sacrebleu
        d = json.load(sys.stdin)
        streams = [[r[i] if i < len(r) else None for r in d["refs"]] for i in range(max(map(len, d["refs"])))]
        print(json.dumps({"chrf": sacrebleu.corpus_chrf(d["hyps"], streams).score,
                          "bleu": sacrebleu.corpus_bleu(d["hyps"], streams).score,
                          "tok": [sacrebleu.tokenizers.tokenizer_13a.Tokenizer13a()(h) for h in d["hyps"]]}))
        """
        let r = try runPython(script, input: ["hyps": hyps, "refs": refs], needs: "sacrebleu")
        guard !r.isEmpty else { return }
        XCTAssertEqual(Scoring.chrF(hyps, refs), r["chrf"] as! Double, accuracy: 1e-9)
        XCTAssertEqual(Scoring.bleu(hyps, refs), r["bleu"] as! Double, accuracy: 1e-9)
        XCTAssertEqual(hyps.map { Scoring.tokenize13a($0).joined(separator: " ") }, r["tok"] as! [String])
    }
}
