import Foundation
import LoomCore
import LoomImages
import LoomLayers
import LoomSeq2Seq

/// Trains a `CaptionModel` with the shared `TrainingLoop`: every caption of every image is an
/// example; each epoch shuffles them (a pure function of the seed and the epoch, so resuming is
/// exact); validation reports the loss, exact match and BLEU-4 of greedy captions.
public final class CaptionTrainer: TrainingTask {
    public let config: CaptionConfig
    public let model: CaptionModel
    public let train: [CaptionedImage]
    public let valid: [CaptionedImage]
    public var reportEvery = 100
    public var evalEvery = 1000
    /// Validation images captioned for exact match and BLEU (the loss uses every one).
    public var validDecodeLimit = 1000
    public var checkpointURL: URL?
    public var saveEvery: Int?
    public var log: (any RunRecorder)?
    public var maxSeconds: Double?
    public var onProgress: ((TrainingReport) -> Void)?
    public var onValidation: ((_ step: Int, _ metrics: [(String, Double)]) -> Void)?
    public var onCheckpoint: ((_ step: Int, _ url: URL) -> Void)?

    /// (image index, caption ids) per example.
    let examples: [(image: Int, caption: [Int32])]
    let validExamples: [(image: Int, caption: [Int32])]
    private var startStep = 0
    private lazy var workspaces = LossWorkspaces<CaptionModel.Workspace>(limit: 24) { $0.output }
    private var plan: (epoch: Int, order: [Int])?

    /// Builds the vocabulary from the training captions (space-separated words).
    public convenience init(train: [CaptionedImage], valid: [CaptionedImage], config: CaptionConfig, backend: any Backend) throws {
        try config.validate()
        guard !train.isEmpty else { throw LoomError.invalidArgument("there are no training images") }
        let vocabulary = SequenceVocabulary.build(train.flatMap { $0.captions.map { Tokens.split($0, .symbol) } }, units: .symbol)
        try self.init(train: train, valid: valid, config: config,
                      model: CaptionModel(config: config, vocabulary: vocabulary, backend: backend))
    }

    init(train: [CaptionedImage], valid: [CaptionedImage], config: CaptionConfig, model: CaptionModel) throws {
        self.config = config
        self.model = model
        self.train = train
        self.valid = valid
        func encode(_ set: [CaptionedImage], _ what: String) throws -> [(Int, [Int32])] {
            var out: [(Int, [Int32])] = [], long: [String] = []
            for (i, item) in set.enumerated() {
                guard item.image.width == config.imageSize, item.image.height == config.imageSize else {
                    throw LoomError.invalidArgument("\(what) image \(item.name) is \(item.image.width)×\(item.image.height), "
                                                    + "the model reads \(config.imageSize)×\(config.imageSize)")
                }
                for c in item.captions {
                    var unknown: [String] = []
                    let ids = model.vocabulary.encode(Tokens.split(c, .symbol), unknown: &unknown)
                    if ids.count > config.maxLength { long.append(item.name) }
                    out.append((i, ids))
                }
            }
            if !long.isEmpty {
                throw LoomError.invalidData("\(long.count) \(what) captions are longer than --max-length \(config.maxLength) words "
                                            + "(\(long.prefix(5).joined(separator: ", "))\(long.count > 5 ? ", …" : ""))")
            }
            return out
        }
        examples = try encode(train, "training")
        validExamples = try encode(valid, "validation")
        guard !examples.isEmpty else { throw LoomError.invalidArgument("the training images have no captions") }
    }

    public var batchesPerEpoch: Int { (examples.count + config.batchSize - 1) / config.batchSize }

    /// The example indices of step `step`'s batch.
    public func batch(_ step: Int) -> [Int] {
        let epoch = step / batchesPerEpoch
        if plan?.epoch != epoch {
            var rng = SeededGenerator(seed: config.seed &+ 0x51_7CC1 &* UInt64(epoch + 1))
            var order = Array(examples.indices)
            order.shuffle(using: &rng)
            plan = (epoch, order)
        }
        let i = step % batchesPerEpoch * config.batchSize
        return Array(plan!.order[i..<min(i + config.batchSize, examples.count)])
    }

    /// A workspace for `batch` captions of up to `longest` words, its steps rounded up to a
    /// multiple of 4 so that few shapes are allocated.
    private func workspace(batch: Int, longest: Int, training: Bool) throws -> CaptionModel.Workspace {
        let steps = (longest + 1 + 3) / 4 * 4
        return try workspaces.workspace("\(batch)x\(steps)", training: training) {
            try model.workspace(batch: batch, steps: steps, training: training)
        }
    }

    private func takeLoss(training: Bool) throws -> Double? {
        try workspaces.takeLoss(training: training, layer: model.output)
    }

    // MARK: Training

    public struct Summary: Sendable {
        public var steps: Int
        public var seconds: Double
        public var imagesPerSecond: Double
        public var trainingLoss: Double?
        public var validation: [(String, Double)]?
        public var stoppedByTime: Bool
    }

    public func run() throws -> Summary {
        let loop = TrainingLoop(totalSteps: config.steps, reportEvery: reportEvery, evalEvery: evalEvery,
                                checkpointURL: checkpointURL, saveEvery: saveEvery, log: log, maxSeconds: maxSeconds,
                                examplesPerStep: Double(min(config.batchSize, examples.count)))
        loop.onReport = onProgress
        loop.communicator = parallel.communicator
        loop.onValidation = onValidation
        loop.onCheckpoint = onCheckpoint
        let result = try loop.run(self, from: startStep)
        try model.backend.synchronize()
        startStep = result.steps
        return Summary(steps: result.steps, seconds: result.seconds, imagesPerSecond: result.stepsPerSecond * loop.examplesPerStep,
                       trainingLoss: result.trainingLoss, validation: result.validation, stoppedByTime: result.stoppedByTime)
    }

    /// The data-parallel job this trainer is one rank of (see `distribute`).
    public private(set) var parallel = DataParallel(SingleProcess())

    /// Makes this trainer one rank of `communicator`'s job (as `Seq2SeqTrainer.distribute`): each
    /// rank trains its part of every batch, weighted by its share of the batch's target words.
    public func distribute(over communicator: any Communicator) {
        parallel = DataParallel(communicator)
        model.store.distribute(over: communicator)
    }

    public func trainStep(_ step: Int) throws {
        let chosen = parallel.take(batch(step).map { examples[$0] }, targets: { $0.caption.count + 1 }, store: model.store)
        guard !chosen.isEmpty else {
            return try model.store.stepWithoutExamples(config.rule(at: step), l2: config.l2, clip: config.clip)
        }
        let ws = try workspace(batch: chosen.count, longest: chosen.map(\.caption.count).max()!, training: true)
        try model.upload(images: chosen.map { train[$0.image].image }, captions: chosen.map(\.caption), into: ws)
        try model.trainStep(ws, step: step)
    }

    /// The global batch's mean loss per target word since the last call (over every rank).
    public func takeLoss() throws -> Double? {
        let (total, count) = try workspaces.takeLossSum(training: true, layer: model.output)
        return try parallel.meanLoss(total: total, count: Double(count))
    }
    public func learningRate(at step: Int) -> Float {
        config.decayEvery > 0 ? config.learningRate * pow(config.decay, Float(step / config.decayEvery)) : config.learningRate
    }
    public var canValidate: Bool { !valid.isEmpty }

    /// Validation loss (teacher-forced, every caption) and exact match and BLEU-4 of greedy captions.
    public func validate(at step: Int) throws -> [(String, Double)] {
        _ = try takeLoss(training: false)
        var i = 0
        let sorted = validExamples.sorted { $0.caption.count < $1.caption.count }
        while i < sorted.count {
            let chunk = Array(sorted[i..<min(i + config.batchSize, sorted.count)])
            i += chunk.count
            let ws = try workspace(batch: chunk.count, longest: chunk.map(\.caption.count).max()!, training: false)
            try model.upload(images: chunk.map { valid[$0.image].image }, captions: chunk.map(\.caption), into: ws)
            try model.forward(ws, training: false, step: 0)
        }
        let loss = try takeLoss(training: false) ?? .nan
        let subset = Array(valid.prefix(validDecodeLimit))
        let outputs = try Captioner(model: model).greedy(subset.map(\.image))
        let report = Scoring.report(outputs.map(\.text), subset.map(\.captions))
        return [("valid_loss", loss), ("valid_exact", report.exactMatch), ("valid_bleu", report.bleu)]
    }

    // MARK: Checkpoints

    struct CheckpointMetadata: Codable {
        var format = CaptionTrainer.format
        var config: CaptionConfig
        var vocabulary: SequenceVocabulary
        var step: Int
        var trainExamples: Int
    }

    static let format = "loom-caption-checkpoint"

    /// Writes the model (rank 0 only: every rank holds the same parameters).
    public func saveCheckpoint(to url: URL, step: Int) throws {
        guard parallel.communicator.isRoot else { return }
        try ModelCheckpoint.write(CheckpointMetadata(config: config, vocabulary: model.vocabulary, step: step,
                                                     trainExamples: examples.count), store: model.store, to: url)
    }

    static func read(_ url: URL) throws -> (metadata: CheckpointMetadata, archive: TensorArchive) {
        try ModelCheckpoint.read(CheckpointMetadata.self, format: format, what: "a captioning checkpoint", from: url)
    }

    /// Continues a run saved by `saveCheckpoint`: the settings (but `steps`) and data must match.
    public func resume(from url: URL) throws {
        let (meta, archive) = try Self.read(url)
        var saved = meta.config, current = config
        saved.steps = 0; current.steps = 0
        guard saved == current else {
            throw LoomError.invalidArgument("\(url.path) was trained with other settings; resume with the same model and training options")
        }
        guard meta.vocabulary == model.vocabulary, meta.trainExamples == examples.count else {
            throw LoomError.invalidArgument("\(url.path) was trained on other captions")
        }
        try model.store.restore(from: archive)
        startStep = meta.step
    }

    /// Loads a model for captioning from a checkpoint, on any backend.
    public static func loadModel(from url: URL, backend: any Backend) throws -> CaptionModel {
        let (meta, archive) = try read(url)
        let model = try CaptionModel(config: meta.config, vocabulary: meta.vocabulary, backend: backend)
        try model.store.restore(from: archive, state: false)
        return model
    }
}

/// Captions images with a trained `CaptionModel`: greedy over whole batches, or beam search one
/// image at a time through the shared `SequenceDecoder`.
public final class Captioner {
    public let model: CaptionModel
    /// Longest caption, in words (`</s>` excluded).
    public var maxLength: Int
    private var workspaces: [Int: CaptionModel.Workspace] = [:]

    public init(model: CaptionModel, maxLength: Int? = nil) {
        self.model = model
        self.maxLength = maxLength ?? model.config.maxLength
    }

    public struct Output: Sendable {
        public var ids: [Int32]
        public var text: String
        public var logProbability: Double
    }

    func workspace(batch: Int) throws -> CaptionModel.Workspace {
        if let ws = workspaces[batch] { return ws }
        if workspaces.count > 8 { workspaces.removeAll() }
        let ws = try model.workspace(batch: batch, steps: 1, training: false)
        workspaces[batch] = ws
        return ws
    }

    /// `image` at the model's input size.
    public func prepare(_ image: GrayImage) -> GrayImage {
        image.resized(width: model.config.imageSize, height: model.config.imageSize)
    }

    /// Greedy captions of many images, `batch` at a time.
    public func greedy(_ images: [GrayImage], batch: Int = 64) throws -> [Output] {
        var results: [Output] = []
        let v = model.vocabulary.count
        var start = 0
        while start < images.count {
            let chunk = images[start..<min(start + batch, images.count)].map(prepare)
            start += chunk.count
            let b = chunk.count
            let ws = try workspace(batch: b)
            try model.upload(images: chunk, captions: nil, into: ws)
            try model.start(ws)
            var symbols = [Int32](repeating: SequenceVocabulary.start, count: b)
            var outputs = [[Int32]](repeating: [], count: b), scores = [Double](repeating: 0, count: b)
            var done = [Bool](repeating: false, count: b)
            for _ in 0...maxLength {
                let probs = try model.backend.floats(try model.step(ws, symbols: symbols))
                for k in 0..<b where !done[k] {
                    let row = probs[(k * v)..<((k + 1) * v)]
                    var best = row.startIndex
                    for i in row.indices where row[i] > row[best] { best = i }
                    let id = Int32(best - row.startIndex)
                    scores[k] += Double(logf(max(row[best], .leastNonzeroMagnitude)))
                    if id == SequenceVocabulary.end || outputs[k].count == maxLength { done[k] = true } else { outputs[k].append(id) }
                    symbols[k] = id
                }
                if done.allSatisfy({ $0 }) { break }
            }
            for k in 0..<b {
                results.append(Output(ids: outputs[k], text: model.vocabulary.decode(outputs[k]), logProbability: scores[k]))
            }
        }
        return results
    }

    /// The caption of one image by `decoding` (beam search, greedy or sampling).
    public func describe(_ image: GrayImage, decoding: Decoding, seed: UInt64 = 1) throws -> Output {
        var width = 1
        if case let .beam(w, _) = decoding { width = w }
        let scorer = try CaptionScorer(captioner: self, image: prepare(image), width: width)
        let result = try SequenceDecoder.decode(scorer, decoding: decoding, length: maxLength + 1, stop: SequenceVocabulary.end, seed: seed)
        var ids = result.symbols
        if ids.last == SequenceVocabulary.end { ids.removeLast() }
        ids = Array(ids.prefix(maxLength))
        return Output(ids: ids, text: model.vocabulary.decode(ids), logProbability: result.logProbability)
    }

    /// Captions of every image: batched greedy, or beam search one by one.
    public func describe(_ images: [GrayImage], decoding: Decoding) throws -> [Output] {
        if case .greedy = decoding { return try greedy(images) }
        return try images.map { try describe($0, decoding: decoding) }
    }
}

/// One image as a `StepScorer`: `width` decoder rows started from its encoding.
final class CaptionScorer: StepScorer {
    let model: CaptionModel
    let ws: CaptionModel.Workspace
    let width: Int
    let scratch, parents: Tensor

    init(captioner: Captioner, image: GrayImage, width: Int) throws {
        model = captioner.model
        self.width = width
        ws = try captioner.workspace(batch: width)
        scratch = try model.backend.zeros([width, model.config.hidden])
        parents = try model.backend.zeros([width], dtype: .int32)
        try model.upload(images: [GrayImage](repeating: image, count: width), captions: nil, into: ws)
    }

    private func rows(_ probs: [Float], _ n: Int) -> [[Float]] {
        let v = model.vocabulary.count
        return (0..<n).map { k in probs[(k * v)..<((k + 1) * v)].map { logf(max($0, .leastNonzeroMagnitude)) } }
    }

    func start() throws -> [Float] {
        try model.start(ws)
        let probs = try model.step(ws, symbols: [Int32](repeating: SequenceVocabulary.start, count: width))
        return rows(try model.backend.floats(probs.rows(0..<1)), 1)[0]
    }

    func advance(parents: [Int], symbols: [Int32]) throws -> [[Float]] {
        let n = symbols.count
        if parents != Array(0..<n) {
            try model.backend.upload(parents.map(Int32.init) + [Int32](repeating: 0, count: width - n), to: self.parents)
            try model.reorder(ws, parents: self.parents, scratch: scratch)
        }
        let probs = try model.step(ws, symbols: symbols + [Int32](repeating: SequenceVocabulary.end, count: width - n))
        return rows(try model.backend.floats(probs), n)
    }
}
