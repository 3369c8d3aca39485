import Foundation
import LoomCore
import LoomData
import LoomEmbeddings

/// What a training run reports as it goes.
public struct TrainingProgress: Sendable {
    public var step: Int
    /// Steps of the whole run, when known in advance (`--steps`), else an estimate.
    public var totalSteps: Int
    public var wordsDone: Int
    public var totalWords: Int
    /// Corpus words per second since the start of this session.
    public var wordsPerSecond: Double
    /// Mean loss per example since the previous report (the course's "Average loss at step N").
    public var loss: Double?
    public var learningRate: Float
    public var elapsedSeconds: Double
    /// Fraction of the run done, 0…1.
    public var fraction: Double {
        totalWords > 0 ? min(1, Double(wordsDone) / Double(totalWords)) : Double(step) / Double(max(totalSteps, 1))
    }
}

/// The end of a run.
public struct TrainingSummary: Sendable {
    public var steps: Int
    public var wordsDone: Int
    public var seconds: Double
    public var wordsPerSecond: Double
    public var finalLoss: Double?
}

/// Trains a `Word2VecModel` on a corpus: a producer thread prepares each step's ids on the host
/// (batch, sampling, slots) while the device runs the previous one; every `reportEvery` steps the
/// mean loss comes back; every `evalEvery` steps the nearest neighbours of validation words.
public final class Word2VecTrainer {
    public let corpus: Corpus
    public let config: Word2VecConfig
    public let model: Word2VecModel
    /// Steps between progress reports (and loss reads).
    public var reportEvery = 2000
    /// Steps between neighbour evaluations; nil for none.
    public var evalEvery: Int? = 10_000
    /// Words whose neighbours are shown: by default 16 of the 100 most frequent, as the course.
    public var validationIDs: [Int]
    /// Checkpoint file and period (steps); written atomically.
    public var checkpointURL: URL?
    public var saveEvery: Int?
    public var log: (any RunRecorder)?
    public var onProgress: ((TrainingProgress) -> Void)?
    public var onEvaluation: ((_ step: Int, _ neighbours: [(word: String, nearest: [(word: String, similarity: Float)])]) -> Void)?
    public var onCheckpoint: ((_ step: Int, _ url: URL) -> Void)?

    /// Sentences the fused negative-sampling path trains at once (Hogwild): 1 is deterministic;
    /// 0 lets the backend choose (every CPU thread; 8 work-groups per OpenCL compute unit).
    public var workers = 0

    var startStep = 0
    var startPosition = StreamPosition()
    /// Model averaging across the ranks of a job (nil: one rank).
    var averaging: ModelAveraging?
    /// The step of the last checkpoint (a job saves at its averaging rounds).
    var lastSave = 0
    /// Words every rank of the job has trained (at the last round).
    var jobWords = 0

    /// Makes this trainer one rank of `communicator`'s job, training on its own shard (give the
    /// initialiser `corpus.shard(Shard(communicator))`) and averaging the models with the other
    /// ranks every `syncWords` words (`ModelAveraging`). Rank 0 alone should be given a log,
    /// progress callbacks and a file to write the vectors to; every rank takes part in checkpoints.
    public func distribute(over communicator: any Communicator, syncWords: Int) throws {
        guard syncWords >= 1 else { throw LoomError.invalidArgument("--sync-words must be at least 1") }
        averaging = communicator.size > 1 ? ModelAveraging(communicator: communicator, syncWords: syncWords) : nil
    }

    /// Corpus words this rank has trained, over every run of this trainer (resumed ones included).
    public var wordsTrained: Int { startPosition.wordsDone }

    /// Model averages done so far and the seconds they took.
    public var averagingCost: (count: Int, seconds: Double) { (averaging?.averages ?? 0, averaging?.seconds ?? 0) }

    public init(corpus: Corpus, config: Word2VecConfig, backend: any Backend) throws {
        try config.validate(vocabularySize: corpus.vocabulary.count, corpusWords: corpus.ids.count)
        self.corpus = corpus
        self.config = config
        let width = config.model == .skipgram ? 1 : config.batching.maxContext
        model = try Word2VecModel(config: config, vocabulary: corpus.vocabulary, backend: backend, inputWidth: width)
        var rng = SeededGenerator(seed: config.seed ^ 0x7A11D)
        var pool = Array(0..<min(100, corpus.vocabulary.count))
        pool.shuffle(using: &rng)
        validationIDs = Array(pool.prefix(16))
    }

    static let divergenceAdvice = "try a lower --lr"

    /// Corpus words the run covers: `epochs` passes (or the `--steps` the user asked for).
    public var totalWords: Int { config.epochs * corpus.ids.count }

    // MARK: Checkpoints

    struct CheckpointMetadata: Codable {
        var format = "loom-word2vec-checkpoint"
        var config: Word2VecConfig
        var words: [String]
        var counts: [Int]
        var corpusTokens: Int
        var step: Int
        var position: StreamPosition
        /// Written by a job of this many ranks (absent: one), after this many passes over the corpus.
        var ranks: Int?
        var epochsDone: Double?
    }

    /// Writes parameters, optimiser state, vocabulary, the stream position and step, atomically.
    /// In a job of several ranks, `job` holds the passes over the whole corpus done by all ranks
    /// together and the whole corpus's tokens (rank 0 writes).
    public func saveCheckpoint(to url: URL, step: Int, position: StreamPosition,
                               job: (epochsDone: Double, corpusTokens: Int)? = nil) throws {
        var archive = try TensorArchive(metadata: CheckpointMetadata(
            config: config, words: corpus.vocabulary.words, counts: corpus.vocabulary.counts,
            corpusTokens: job?.corpusTokens ?? corpus.ids.count, step: step, position: position,
            ranks: job == nil ? nil : averaging?.communicator.size, epochsDone: job?.epochsDone))
        try model.save(into: &archive)
        try archive.write(to: url)
    }

    /// Continues the run saved in `url` (written by any backend). The corpus, vocabulary and
    /// configuration must be the ones it was trained with.
    public func resume(from url: URL) throws {
        let archive = try TensorArchive.read(from: url)
        let meta = try archive.decodeMetadata(CheckpointMetadata.self, file: url.path)
        guard meta.format == "loom-word2vec-checkpoint" else {
            throw LoomError.invalidData("\(url.path) is not a word2vec checkpoint")
        }
        var saved = meta.config, current = config
        saved.steps = nil; saved.epochs = 1; current.steps = nil; current.epochs = 1
        guard saved == current else {
            throw LoomError.invalidArgument("\(url.path) was trained with other settings (\(meta.config.summary)); "
                + "resume with the same model, loss, window, dimension, batch and seed")
        }
        let jobTokens = try averaging.map { Int(try $0.communicator.sum(Double(corpus.ids.count))) } ?? corpus.ids.count
        guard meta.words == corpus.vocabulary.words, meta.corpusTokens == jobTokens else {
            throw LoomError.invalidArgument("\(url.path) was trained on another corpus or vocabulary "
                + "(\(meta.words.count) words, \(meta.corpusTokens) tokens; this corpus gives "
                + "\(corpus.vocabulary.count) words, \(corpus.ids.count) tokens)")
        }
        try model.restore(from: archive)
        startStep = meta.step
        lastSave = meta.step
        if (meta.ranks ?? 1) == 1 && averaging == nil {
            startPosition = meta.position
        } else {
            // Written by, or resumed on, a job of several ranks: every rank starts as far into its
            // own shard (in passes over it) as the job had come, at a sentence boundary.
            let epochs = meta.epochsDone ?? Double(meta.position.wordsDone) / Double(max(1, meta.corpusTokens))
            let n = corpus.ids.count, length = ExampleStream.sentenceLength
            let done = Int((epochs * Double(n)).rounded(.down))
            startPosition.wordsDone = done / length * length
            startPosition.cursor = (done % max(n, 1)) / length * length
        }
    }

    /// The end of one iteration of either loop, on every rank: alone, whether this rank goes on;
    /// in a job, the ranks' `ModelAveraging.round` (averaging and checkpoints at its cadence).
    /// - Returns: whether the loop goes on.
    func endOfIteration(done: Bool, words: Int, step: Int, position: StreamPosition) throws -> Bool {
        guard let averaging else { return !done }
        let wantsSave = checkpointURL != nil && saveEvery.map { step - lastSave >= $0 } == true
        let round = try averaging.round(done: done, words: words, wordsDone: position.wordsDone,
                                        wantsSave: wantsSave, model: model)
        jobWords = round.wordsDone
        if round.save, let url = checkpointURL {
            let tokens = Int(try averaging.communicator.sum(Double(corpus.ids.count)))
            if averaging.communicator.isRoot {
                try saveCheckpoint(to: url, step: step, position: position,
                                   job: (Double(round.wordsDone) / Double(max(1, tokens)), tokens))
                onCheckpoint?(step, url)
            }
            lastSave = step
        }
        return round.running
    }

    // MARK: Running

    /// Trains until `--steps` or `--epochs` are done. Returns a summary; the model holds the result.
    public func run() throws -> TrainingSummary {
        if config.usesFusedPass { return try runFused() }
        var planner = StepPlanner(config: config, corpus: corpus)
        planner.seek(step: startStep, position: startPosition)
        let producer = PlanProducer(planner: planner, depth: 3)
        defer { producer.stop() }

        let total = totalWords
        let stepLimit = config.steps
        var record = RunState(total: total, stepLimit: stepLimit, wordsAtStart: startPosition.wordsDone,
                               estimatedSteps: stepLimit ?? max(1, Int(Double(total) / Double(max(1, config.batchSize / averageExamplesPerWord)))))
        var step = startStep
        var position = startPosition

        func progress(_ p: StreamPosition) -> Double {
            if let stepLimit { return Double(step) / Double(stepLimit) }
            return Double(p.wordsDone) / Double(max(total, 1))
        }

        func finished() -> Bool {
            if let stepLimit { return step >= stepLimit }
            return position.wordsDone >= total
        }

        var running = !finished() || averaging != nil
        while running {
            var words = 0
            if !finished() {
                let plan = producer.next()
                let rule = model.rule(progress: progress(position))
                try model.step(plan, progress: progress(position))
                step = plan.step + 1
                words = plan.positionAfter.wordsDone - position.wordsDone
                position = plan.positionAfter
                producer.recycle(plan)

                try endOfStep(step, position, last: finished(), learningRate: rule.learningRate, &record) { try model.takeLoss() }
            }
            running = try endOfIteration(done: finished(), words: words, step: step, position: position)
        }
        return try summary(step, position, record)
    }

    /// What a run keeps for its reports.
    struct RunState {
        let clock = Clock()
        let total: Int, stepLimit: Int?, wordsAtStart: Int, estimatedSteps: Int
        var lastLoss: Double?
    }

    /// The end of every step of either path: the loss read and checked at each report and before
    /// every checkpoint (a diverged state is never saved), the progress report and log line, the
    /// neighbours, the checkpoint.
    func endOfStep(_ step: Int, _ position: StreamPosition, last: Bool, learningRate: Float, _ r: inout RunState,
                   takeLoss: () throws -> Double?) throws {
        // A job of several ranks saves at its averaging rounds instead (`endOfIteration`).
        let saving = averaging == nil && checkpointURL != nil && saveEvery.map { step % $0 == 0 || last } == true
        if step % reportEvery == 0 || last || saving {
            if let loss = try takeLoss() {
                try Divergence.check(loss, step: step, advice: Self.divergenceAdvice)
                r.lastLoss = loss
            }
            let seconds = r.clock.seconds
            let report = TrainingProgress(
                step: step, totalSteps: r.estimatedSteps, wordsDone: position.wordsDone, totalWords: r.stepLimit == nil ? r.total : 0,
                wordsPerSecond: Double(position.wordsDone - r.wordsAtStart) / max(seconds, 1e-9), loss: r.lastLoss,
                learningRate: learningRate, elapsedSeconds: seconds)
            onProgress?(report)
            try log?.record(RunRecord(step: step, elapsed: seconds, loss: r.lastLoss, learningRate: Double(learningRate),
                                      wordsPerSecond: report.wordsPerSecond, words: position.wordsDone))
        }
        if let evalEvery, evalEvery > 0, step % evalEvery == 0 || last, averaging?.communicator.isRoot ?? true {
            let nearest = try model.nearest(validationIDs, k: 8)
            onEvaluation?(step, zip(validationIDs, nearest).map { (corpus.vocabulary.words[$0], $1) })
        }
        if saving, let url = checkpointURL {
            try saveCheckpoint(to: url, step: step, position: position)
            onCheckpoint?(step, url)
        }
    }

    /// Waits for the device, remembers where the run stands (a later `run` continues), and sums it up.
    func summary(_ step: Int, _ position: StreamPosition, _ r: RunState) throws -> TrainingSummary {
        try model.backend.synchronize()
        let seconds = r.clock.seconds
        startStep = step
        startPosition = position
        // A job's summary counts every rank's words (the ranks trained at the same time).
        let jobStart = try averaging.map { Int(try $0.communicator.sum(Double(r.wordsAtStart))) } ?? r.wordsAtStart
        let done = averaging == nil ? position.wordsDone : jobWords
        return TrainingSummary(steps: step, wordsDone: done, seconds: seconds,
                               wordsPerSecond: Double(done - jobStart) / max(seconds, 1e-9),
                               finalLoss: r.lastLoss)
    }

    /// Examples each corpus word yields, for estimating the number of steps.
    private var averageExamplesPerWord: Int {
        switch (config.model, config.batching) {
        case let (.skipgram, .course(_, numSkips)): return numSkips
        case let (.skipgram, .dynamic(window)): return max(1, window)
        default: return 1
        }
    }
}

extension UpdateRule {
    /// The learning rate of the rule, for reports.
    public var learningRate: Float {
        switch self {
        case let .sgd(lr), let .momentum(lr, _), let .adagrad(lr, _), let .adam(lr, _, _, _, _): return lr
        }
    }
}

extension Word2VecConfig {
    /// One line describing the run, for messages.
    public var summary: String {
        let batchingText: String
        switch batching {
        case let .course(w, k): batchingText = "skip-window \(w), num-skips \(k)"
        case let .dynamic(w): batchingText = "window \(w)"
        }
        let steps = usesFusedPass ? "fused per window" : "batch \(batchSize)"
        return "\(model.rawValue), \(loss.rawValue) loss (\(numSampled)), dim \(dimension), \(steps), "
            + "\(batchingText), \(optimizer.rawValue) lr \(learningRate), sample \(sample), seed \(seed)"
    }
}

/// Wall time since creation.
struct Clock {
    let start = DispatchTime.now().uptimeNanoseconds
    var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}

/// The producer half of double buffering: a thread fills step plans ahead of the device, up to
/// `depth` of them; `next()` hands them over in order, `recycle` gives the buffers back.
final class PlanProducer: @unchecked Sendable {
    private let condition = NSCondition()
    private var ready: [StepPlan] = []
    private var free: [StepPlan]
    private var stopped = false
    private let finished = DispatchSemaphore(value: 0)
    /// Touched only by the producer thread.
    private var planner: StepPlanner

    init(planner: StepPlanner, depth: Int) {
        free = (0..<depth).map { _ in StepPlan(layout: planner.layout) }
        self.planner = planner
        let thread = Thread { [self] in
            while true {
                condition.lock()
                while free.isEmpty && !stopped { condition.wait() }
                if stopped { condition.unlock(); break }
                let plan = free.removeFirst()
                condition.unlock()
                self.planner.fill(plan)
                condition.lock()
                ready.append(plan)
                condition.broadcast()
                condition.unlock()
            }
            finished.signal()
        }
        thread.name = "loom.word2vec.batches"
        thread.start()
    }

    func next() -> StepPlan {
        condition.lock()
        while ready.isEmpty { condition.wait() }
        let plan = ready.removeFirst()
        condition.unlock()
        return plan
    }

    func recycle(_ plan: StepPlan) {
        condition.lock()
        free.append(plan)
        condition.broadcast()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }
}
