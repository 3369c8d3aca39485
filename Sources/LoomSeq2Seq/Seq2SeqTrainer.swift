import Foundation
import LoomCore
import LoomLayers

/// Trains a `Seq2SeqModel` on pairs with the shared `TrainingLoop`: batches bucketed by length
/// (each epoch shuffles the pairs, sorts pools of 32 batches by length, cuts them into batches
/// and shuffles those), teacher forcing, clipping, L2, SGD or Adam; validation loss, exact match
/// and chrF of greedy outputs; checkpoints that resume exactly.
public final class Seq2SeqTrainer: TrainingTask {
    public let config: Seq2SeqConfig
    public let model: Seq2SeqModel
    public let train: [EncodedPair]
    public let valid: [EncodedPair]
    public var reportEvery = 100
    public var evalEvery = 1000
    /// Validation pairs decoded for exact match and chrF (the loss uses every one).
    public var validDecodeLimit = 500
    public var checkpointURL: URL?
    public var saveEvery: Int?
    /// Also keep the checkpoint of the best validation chrF so far here (early stopping).
    public var bestURL: URL?
    public private(set) var best: (step: Int, chrF: Double)?
    public var log: (any RunRecorder)?
    public var maxSeconds: Double?
    public var onProgress: ((TrainingReport) -> Void)?
    public var onValidation: ((_ step: Int, _ metrics: [(String, Double)]) -> Void)?
    public var onCheckpoint: ((_ step: Int, _ url: URL) -> Void)?

    /// The data-parallel job this trainer is one rank of (see `distribute`).
    public private(set) var parallel = DataParallel(SingleProcess())

    private var startStep = 0
    private lazy var workspaces = LossWorkspaces<Seq2SeqModel.Workspace>(limit: 48) { $0.output }
    private var plan: (epoch: Int, batches: [[Int]])?

    /// A pair as ids (without specials), with its references as text.
    public struct EncodedPair: Sendable {
        public var source: [Int32]
        public var target: [Int32]
        public var references: [String]
    }

    /// Builds both vocabularies from `train` and checks every pair against `maxLength`.
    public convenience init(train trainPairs: [SequencePair], valid validPairs: [SequencePair], config: Seq2SeqConfig,
                            backend: any Backend) throws {
        try config.validate()
        guard !trainPairs.isEmpty else { throw LoomError.invalidArgument("there are no training pairs") }
        let c = config
        let source = SequenceVocabulary.learn(trainPairs.map(\.source), units: c.sourceUnits, merges: c.merges,
                                              maxSize: c.maxVocabulary)
        let target = SequenceVocabulary.learn(trainPairs.map(\.target), units: c.targetUnits, merges: c.merges,
                                              maxSize: c.maxVocabulary)
        try Self.checkLengths(trainPairs, trainPairs.map { source.tokens($0.source) }, trainPairs.map { target.tokens($0.target) },
                              max: c.maxLength, what: "training")
        try self.init(train: trainPairs, valid: validPairs, config: config,
                      model: Seq2SeqModel(config: config, source: source, target: target, backend: backend))
    }

    /// Trains an existing model (e.g. one loaded to resume) on pairs.
    init(train trainPairs: [SequencePair], valid validPairs: [SequencePair], config: Seq2SeqConfig,
         model: Seq2SeqModel) throws {
        self.config = config
        self.model = model
        func encode(_ pairs: [SequencePair]) -> [EncodedPair] {
            pairs.map { p in
                var unknown: [String] = []
                return EncodedPair(source: model.source.encode(model.source.tokens(p.source), unknown: &unknown),
                                   target: model.target.encode(model.target.tokens(p.target), unknown: &unknown),
                                   references: p.references)
            }
        }
        let vs = validPairs.map { model.source.tokens($0.source) }
        let vt = validPairs.map { model.target.tokens($0.target) }
        try Self.checkLengths(validPairs, vs, vt, max: config.maxLength, what: "validation")
        train = encode(trainPairs)
        valid = encode(validPairs)
    }

    static func checkLengths(_ pairs: [SequencePair], _ s: [[String]], _ t: [[String]], max: Int, what: String) throws {
        var long: [Int] = []
        for i in pairs.indices where s[i].count > max || t[i].count > max || s[i].isEmpty || t[i].isEmpty {
            if s[i].isEmpty || t[i].isEmpty {
                throw LoomError.invalidData("\(what) pair \(pairs[i].line > 0 ? "on line \(pairs[i].line)" : "\(i + 1)") has an empty side")
            }
            long.append(pairs[i].line > 0 ? pairs[i].line : i + 1)
        }
        if !long.isEmpty {
            let shown = long.prefix(10).map(String.init).joined(separator: ", ")
            throw LoomError.invalidData("\(long.count) \(what) pairs are longer than --max-length \(max) tokens "
                                        + "(lines \(shown)\(long.count > 10 ? ", …" : "")); raise --max-length or drop them")
        }
    }

    /// Batches per epoch.
    public var batchesPerEpoch: Int { (train.count + config.batchSize - 1) / config.batchSize }

    // MARK: Batches

    /// The pair indices of step `step`'s batch: a pure function of the seed and the step.
    public func batch(_ step: Int) -> [Int] {
        let epoch = step / batchesPerEpoch
        if plan?.epoch != epoch { plan = (epoch, makeEpoch(epoch)) }
        return plan!.batches[step % batchesPerEpoch]
    }

    private func makeEpoch(_ epoch: Int) -> [[Int]] {
        var rng = SeededGenerator(seed: config.seed &+ 0x9E37_79B9 &* UInt64(epoch + 1))
        var order = Array(train.indices)
        order.shuffle(using: &rng)
        let b = config.batchSize, pool = 32 * b
        var batches: [[Int]] = []
        var i = 0
        while i < order.count {
            let chunk = order[i..<min(i + pool, order.count)].sorted {
                (train[$0].source.count, train[$0].target.count, $0) < (train[$1].source.count, train[$1].target.count, $1)
            }
            var j = 0
            while j < chunk.count {
                batches.append(Array(chunk[j..<min(j + b, chunk.count)]))
                j += b
            }
            i += pool
        }
        batches.shuffle(using: &rng)
        return batches
    }

    /// A training workspace for `batch` pairs, their lengths rounded up to a multiple of 4 so
    /// that few shapes are allocated.
    private func workspace(for pairs: [EncodedPair], training: Bool) throws -> Seq2SeqModel.Workspace {
        func round(_ n: Int) -> Int { (n + 3) / 4 * 4 }
        let s = round(pairs.map(\.source.count).max()!), t = round(pairs.map(\.target.count).max()! + 1)
        return try workspaces.workspace("\(pairs.count)x\(s)x\(t)", training: training) {
            try model.workspace(batch: pairs.count, sourceSteps: s, targetSteps: t, training: training)
        }
    }

    /// Mean loss per target symbol since the last call, over every training (or evaluation) workspace.
    private func takeLoss(training: Bool) throws -> Double? {
        try workspaces.takeLoss(training: training, layer: model.output)
    }

    // MARK: Training

    public struct Summary: Sendable {
        public var steps: Int
        public var seconds: Double
        public var stepsPerSecond: Double
        public var pairsPerSecond: Double
        public var trainingLoss: Double?
        public var validation: [(String, Double)]?
        public var stoppedByTime: Bool
    }

    public func run() throws -> Summary {
        let loop = TrainingLoop(totalSteps: config.steps, reportEvery: reportEvery, evalEvery: evalEvery,
                                checkpointURL: checkpointURL, saveEvery: saveEvery, log: log, maxSeconds: maxSeconds,
                                examplesPerStep: Double(min(config.batchSize, train.count)))
        loop.onReport = onProgress
        loop.communicator = parallel.communicator
        loop.onValidation = onValidation
        loop.onCheckpoint = onCheckpoint
        let result = try loop.run(self, from: startStep)
        try model.backend.synchronize()
        startStep = result.steps
        return Summary(steps: result.steps, seconds: result.seconds, stepsPerSecond: result.stepsPerSecond,
                       pairsPerSecond: result.stepsPerSecond * loop.examplesPerStep, trainingLoss: result.trainingLoss,
                       validation: result.validation, stoppedByTime: result.stoppedByTime)
    }

    /// Makes this trainer one rank of `communicator`'s job: every rank builds the same batches and
    /// trains its part of each (`DataParallel`); the gradients, weighted by each part's share of
    /// the batch's targets, are summed before every update. Every rank passes the same pairs
    /// and settings; rank 0 alone should be given a log and progress callbacks.
    public func distribute(over communicator: any Communicator) {
        parallel = DataParallel(communicator)
        model.store.distribute(over: communicator)
    }

    public func trainStep(_ step: Int) throws {
        // Each target symbol and the closing </s> are targets of the loss.
        let pairs = parallel.take(batch(step).map { train[$0] }, targets: { $0.target.count + 1 }, store: model.store)
        guard !pairs.isEmpty else {
            // Fewer pairs than ranks in this batch: this rank adds nothing but takes the step.
            return try model.store.stepWithoutExamples(config.rule(at: step), l2: config.l2, clip: config.clip)
        }
        let ws = try workspace(for: pairs, training: true)
        try model.upload(sources: pairs.map(\.source), targets: pairs.map(\.target), into: ws,
                         wordDropout: config.wordDropout > 0 ? (config.wordDropout, step) : nil)
        try model.trainStep(ws, step: step)
    }

    /// The global batch's mean loss per target symbol since the last call (over every rank).
    public func takeLoss() throws -> Double? {
        let (total, count) = try workspaces.takeLossSum(training: true, layer: model.output)
        return try parallel.meanLoss(total: total, count: Double(count))
    }
    public func learningRate(at step: Int) -> Float { config.learningRate(at: step) }
    public var canValidate: Bool { !valid.isEmpty }
    public func validate(at step: Int) throws -> [(String, Double)] {
        let metrics = try validate()
        if let url = bestURL, let chrF = metrics.first(where: { $0.0 == "valid_chrf" })?.1, chrF > (best?.chrF ?? -1) {
            try saveCheckpoint(to: url, step: step)
            best = (step, chrF)
        }
        return metrics
    }

    // MARK: Validation

    /// Teacher-forced loss over `pairs` (mean per target symbol).
    public func loss(_ pairs: [EncodedPair]) throws -> Double {
        _ = try takeLoss(training: false)
        let sorted = pairs.sorted { ($0.source.count, $0.target.count) < ($1.source.count, $1.target.count) }
        var i = 0
        while i < sorted.count {
            let chunk = Array(sorted[i..<min(i + config.batchSize, sorted.count)])
            i += chunk.count
            let ws = try workspace(for: chunk, training: false)
            try model.upload(sources: chunk.map(\.source), targets: chunk.map(\.target), into: ws)
            try model.forward(ws, training: false, step: 0)
        }
        return try takeLoss(training: false) ?? .nan
    }

    /// Validation loss, and exact match and chrF of greedy outputs on up to `validDecodeLimit` pairs.
    public func validate() throws -> [(String, Double)] {
        let loss = try self.loss(valid)
        let subset = Array(valid.prefix(validDecodeLimit))
        let outputs = try Translator(model: model).greedy(subset.map(\.source))
        let report = Scoring.report(outputs.map(\.text), subset.map(\.references))
        return [("valid_loss", loss), ("valid_exact", report.exactMatch), ("valid_chrf", report.chrF)]
    }

    // MARK: Checkpoints

    struct CheckpointMetadata: Codable {
        var format = Seq2SeqTrainer.format
        var config: Seq2SeqConfig
        var source: SequenceVocabulary
        var target: SequenceVocabulary
        var step: Int
        var trainPairs: Int
    }

    static let format = "loom-seq2seq-checkpoint"

    /// Writes the model (rank 0 only: every rank holds the same parameters).
    public func saveCheckpoint(to url: URL, step: Int) throws {
        guard parallel.communicator.isRoot else { return }
        try ModelCheckpoint.write(CheckpointMetadata(config: config, source: model.source, target: model.target,
                                                     step: step, trainPairs: train.count), store: model.store, to: url)
    }

    static func read(_ url: URL) throws -> (metadata: CheckpointMetadata, archive: TensorArchive) {
        try ModelCheckpoint.read(CheckpointMetadata.self, format: format, what: "a sequence-to-sequence checkpoint", from: url)
    }

    /// Continues a run saved by `saveCheckpoint`: the settings (but `steps`) and data must match.
    public func resume(from url: URL) throws {
        let (meta, archive) = try Self.read(url)
        var saved = meta.config, current = config
        saved.steps = 0; current.steps = 0
        guard saved == current else {
            throw LoomError.invalidArgument("\(url.path) was trained with other settings; resume with the same model and training options")
        }
        guard meta.source == model.source, meta.target == model.target, meta.trainPairs == train.count else {
            throw LoomError.invalidArgument("\(url.path) was trained on other pairs")
        }
        try model.store.restore(from: archive)
        startStep = meta.step
    }

    /// Loads a model for translation from a checkpoint, on any backend.
    public static func loadModel(from url: URL, backend: any Backend) throws -> Seq2SeqModel {
        let (meta, archive) = try read(url)
        let model = try Seq2SeqModel(config: meta.config, source: meta.source, target: meta.target, backend: backend)
        try model.store.restore(from: archive, state: false)
        return model
    }
}
