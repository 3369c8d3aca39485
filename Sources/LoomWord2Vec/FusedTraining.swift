import Foundation
import LoomCore
import LoomData

/// The fused negative-sampling path of `Word2VecTrainer`: the corpus, keep probabilities and
/// noise table go to the device once; each step is one `Backend.word2vecPass` over about a
/// million words of whole sentences, with the learning rate falling linearly inside it. Only the
/// loss sums come back, when a report is due.
extension Word2VecTrainer {
    /// Corpus words per fused step (whole sentences): the unit of reports, checkpoints and `--steps`.
    public static let fusedStepWords = 1 << 20

    func runFused() throws -> TrainingSummary {
        let be = model.backend
        let n = corpus.ids.count, length = ExampleStream.sentenceLength
        let sentences = (n + length - 1) / length
        // In a job, a step is at most the averaging period, so that `--sync-words` is honoured.
        let stepWords = averaging.map { min(Self.fusedStepWords, $0.syncWords) } ?? Self.fusedStepWords
        let perStep = max(1, stepWords / length)
        let keep = config.sample > 0 ? corpus.vocabulary.keepProbabilities(threshold: config.sample)
            : [Float](repeating: 1, count: corpus.vocabulary.count)
        let noise = AliasSampler(weights: corpus.vocabulary.unigramDistribution(power: 0.75)).table
        // The device holds a window of at most one step's sentences (the whole corpus when it is
        // no larger): each step uploads its window, checked on the host first, and a mapped id
        // file lets the kernel drop the window's pages afterwards — memory does not grow with the
        // corpus. The sentence numbers, and so every random draw, stay those of the whole corpus.
        let capacity = min(n, perStep * length)
        let tables = try corpus.ids.slice(0..<capacity).withUnsafeBufferPointer {
            try Word2VecTables(corpus: $0, keep: keep, aliasProbability: noise.probability, aliasIndex: noise.alias, on: be)
        }
        let windowed = capacity < n
        func corpusWindow(first: Int, count: Int) throws -> Word2VecTables {
            guard windowed else { return tables }
            let span = first * length ..< min((first + count) * length, n)
            let ids = corpus.ids.slice(span)
            let view = tables.corpus.elements(0, count: span.count)
            try ids.withUnsafeBufferPointer { buffer in
                try Check.ids("word2vec corpus window", buffer, .row, bound: corpus.vocabulary.count)
                try be.upload(UnsafeRawBufferPointer(buffer), to: view)
            }
            corpus.ids.releasePages(span)
            return tables.with(corpus: view)
        }
        let stats = try be.zeros([2])
        guard case let .dynamic(window) = config.batching else { preconditionFailure("the fused path needs word2vec windows") }

        let total = totalWords
        let stepLimit = config.steps
        var record = RunState(total: total, stepLimit: stepLimit, wordsAtStart: startPosition.wordsDone,
                               estimatedSteps: stepLimit ?? max(1, (total + perStep * length - 1) / (perStep * length)))
        var step = startStep, position = startPosition
        // The run's fraction done after `words` corpus words, or `steps` steps of a `--steps` run.
        func progress(words: Int, steps: Int) -> Double {
            if let stepLimit { return Double(steps) / Double(stepLimit) }
            return Double(words) / Double(max(total, 1))
        }
        func finished() -> Bool { stepLimit.map { step >= $0 } ?? (position.wordsDone >= total) }

        var running = !finished() || averaging != nil
        while running {
            var words = 0
            if finished() {
                running = try endOfIteration(done: true, words: 0, step: step, position: position)
                continue
            }
            let first = position.cursor / length
            let count = min(perStep, sentences - first)
            words = min((first + count) * length, n) - first * length
            var pass = Word2VecPass()
            pass.cbow = config.model == .cbow
            pass.cbowMean = config.cbowMean
            pass.window = window
            pass.negatives = config.numSampled
            pass.sentenceLength = length
            pass.firstSentence = first
            pass.sentenceCount = count
            let stepTables = try corpusWindow(first: first, count: count)
            if windowed { pass.corpusFirstSentence = first }
            pass.learningRate = model.rule(progress: progress(words: position.wordsDone, steps: step)).learningRate
            pass.finalLearningRate = model.rule(progress: progress(words: position.wordsDone + words, steps: step + 1)).learningRate
            pass.seed = config.seed
            pass.stream = UInt64(position.wordsDone / n)
            pass.workers = workers
            try be.word2vecPass(pass, tables: stepTables, input: model.embeddings, output: model.weights, stats: stats)
            step += 1
            position.wordsDone += words
            position.cursor = first + count >= sentences ? 0 : (first + count) * length

            try endOfStep(step, position, last: finished(), learningRate: pass.finalLearningRate, &record) {
                let sums = try be.floats(stats)
                try be.fill(stats, value: 0)
                return sums[1] > 0 ? Double(sums[0]) / Double(sums[1]) : nil
            }
            running = try endOfIteration(done: finished(), words: words, step: step, position: position)
        }
        return try summary(step, position, record)
    }
}
