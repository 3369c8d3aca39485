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
    }

    /// Writes parameters, optimiser state, vocabulary, the stream position and step, atomically.
    public func saveCheckpoint(to url: URL, step: Int, position: StreamPosition) throws {
        var archive = try TensorArchive(metadata: CheckpointMetadata(
            config: config, words: corpus.vocabulary.words, counts: corpus.vocabulary.counts,
            corpusTokens: corpus.ids.count, step: step, position: position))
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
        guard meta.words == corpus.vocabulary.words, meta.corpusTokens == corpus.ids.count else {
            throw LoomError.invalidArgument("\(url.path) was trained on another corpus or vocabulary "
                + "(\(meta.words.count) words, \(meta.corpusTokens) tokens; this corpus gives "
                + "\(corpus.vocabulary.count) words, \(corpus.ids.count) tokens)")
        }
        try model.restore(from: archive)
        startStep = meta.step
        startPosition = meta.position
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

        while !finished() {
            let plan = producer.next()
            let rule = model.rule(progress: progress(position))
            try model.step(plan, progress: progress(position))
            step = plan.step + 1
            position = plan.positionAfter
            producer.recycle(plan)

            try endOfStep(step, position, last: finished(), learningRate: rule.learningRate, &record) { try model.takeLoss() }
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
        let saving = checkpointURL != nil && saveEvery.map { step % $0 == 0 || last } == true
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
        if let evalEvery, evalEvery > 0, step % evalEvery == 0 || last {
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
        return TrainingSummary(steps: step, wordsDone: position.wordsDone, seconds: seconds,
                               wordsPerSecond: Double(position.wordsDone - r.wordsAtStart) / max(seconds, 1e-9),
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
