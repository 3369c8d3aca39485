import Foundation
import LoomCore
import LoomData
import LoomLayers

/// Progress of a character-LSTM run (`examplesPerSecond` counts characters).
public typealias LSTMProgress = TrainingReport

/// How validation perplexity is measured.
public enum ValidationProtocol: String, Codable, Sendable, CaseIterable {
    /// The course's: one character at a time, batch 1, state carried from the first character.
    case course
    /// Faster: the slice cut into up to 64 streams, run in segments of `unrollings` with state carried.
    case batched
}

/// Trains a `CharLSTM` as the course's 6_lstm notebook: `B` cursors over the training text,
/// segments of `T` characters with state carried, BPTT, clipping, SGD with staircase decay (or
/// Adam); validation perplexity on the first `validSize` characters every `evalEvery` steps.
///
/// Data parallel across the ranks of a `Communicator`: each rank runs its share of the `B`
/// cursors (`Shard`), the gradients are summed in `ParameterStore.update`, and every rank applies
/// the same step, so N ranks follow one rank's losses (to float rounding; dropout masks differ, as
/// each rank draws its own rows'). Reported losses are the global batch's. Checkpoints hold all
/// `B` cursors' states (gathered to rank 0, which alone writes), so they resume on any number of ranks.
public final class CharLSTMTrainer: TrainingTask {
    public let config: CharLSTMConfig
    public let model: CharLSTM
    public let train: CharacterText
    public let valid: CharacterText
    public var reportEvery = 100
    public var evalEvery = 1000
    public var validation: ValidationProtocol = .course
    public var checkpointURL: URL?
    public var saveEvery: Int?
    public var log: (any RunRecorder)?
    /// Stop cleanly after this many seconds (validation and checkpoint at the stopping step).
    public var maxSeconds: Double?
    public var onProgress: ((LSTMProgress) -> Void)?
    public var onValidation: ((_ step: Int, _ perplexity: Double) -> Void)?
    public var onCheckpoint: ((_ step: Int, _ url: URL) -> Void)?

    private var startStep = 0
    private let workspace: CharLSTM.Workspace
    private var sampler: LogUniformSampler?
    private var sampledIDs: [Int32] = []
    private let batches: TextBatches
    /// The data-parallel job this trainer is one rank of.
    public let parallel: DataParallel
    var communicator: any Communicator { parallel.communicator }
    /// This rank's cursors of the global batch.
    public var cursors: Range<Int> { batches.cursors }

    /// Splits `text` into the validation slice (its first `validSize` symbols) and the rest.
    /// `communicator`: the data-parallel job (every rank passes the same text and settings).
    public init(text: CharacterText, config: CharLSTMConfig, backend: any Backend,
                communicator: any Communicator = SingleProcess()) throws {
        let validCount = min(config.validSize, text.count)
        let trainIDs = Array(text.ids[validCount...])
        try config.validate(alphabetSize: text.alphabet.count, trainLength: trainIDs.count)
        if config.validSize > 0 && validCount < 2 {
            throw LoomError.invalidArgument("the text is too short for a validation slice of \(config.validSize)")
        }
        if config.batchSize < communicator.size {
            throw LoomError.invalidArgument("--batch-size \(config.batchSize) is smaller than the \(communicator.size) ranks; "
                                            + "every rank needs at least one cursor of the global batch")
        }
        self.config = config
        parallel = DataParallel(communicator)
        train = CharacterText(alphabet: text.alphabet, ids: trainIDs)
        valid = CharacterText(alphabet: text.alphabet, ids: Array(text.ids[0..<validCount]))
        model = try CharLSTM(config: config, alphabet: text.alphabet, backend: backend)
        let cursors = Shard(communicator).range(config.batchSize)
        workspace = try model.workspace(batch: cursors.count, steps: config.unrollings, training: true)
        batches = TextBatches(ids: trainIDs, batch: config.batchSize, cursors: cursors, unrollings: config.unrollings,
                              alphabetSize: text.alphabet.count, bigram: config.bigram)
        model.store.distribute(over: communicator, share: Float(cursors.count) / Float(config.batchSize))
        sampler = config.sampled > 0 ? LogUniformSampler(range: text.alphabet.count) : nil
    }

    // MARK: Training

    public struct Summary: Sendable {
        public var steps: Int
        public var seconds: Double
        public var stepsPerSecond: Double
        public var validationPerplexity: Double?
        public var trainingLoss: Double?
    }

    public func run() throws -> Summary {
        let loop = TrainingLoop(totalSteps: config.steps, reportEvery: reportEvery, evalEvery: evalEvery,
                                checkpointURL: checkpointURL, saveEvery: saveEvery, log: log, maxSeconds: maxSeconds,
                                examplesPerStep: Double(config.batchSize * config.unrollings))
        loop.onReport = onProgress
        loop.communicator = communicator
        loop.onValidation = { [onValidation] step, metrics in onValidation?(step, metrics[0].1) }
        loop.onCheckpoint = onCheckpoint
        let result = try loop.run(self, from: startStep)
        try model.backend.synchronize()
        startStep = result.steps
        return Summary(steps: result.steps, seconds: result.seconds, stepsPerSecond: result.stepsPerSecond,
                       validationPerplexity: result.validation?.first?.1, trainingLoss: result.trainingLoss)
    }

    private var segmentInputs: [Int32] = [], segmentLabels: [Int32] = []

    /// One training step: the segment's ids up, then forward, backward and update on the device.
    public func trainStep(_ step: Int) throws {
        batches.segment(step, inputs: &segmentInputs, labels: &segmentLabels)
        try model.upload(inputs: segmentInputs, labels: segmentLabels, into: workspace)
        if config.sampled > 0 { try uploadSamples(step: step, labels: segmentLabels) }
        try model.trainStep(workspace, step: step)
    }

    /// The global batch's mean loss since the last call (one allreduce of two numbers across ranks).
    public func takeLoss() throws -> Double? {
        let local = try model.takeLoss(workspace), weight = Double(cursors.count)
        guard parallel.isDistributed else { return local }
        return try parallel.meanLoss(total: (local ?? 0) * weight, count: local == nil ? 0 : weight)
    }
    public func learningRate(at step: Int) -> Float { config.learningRate(at: step) }
    public var canValidate: Bool { evalEvery > 0 && valid.count > 1 }
    public func validate(at step: Int) throws -> [(String, Double)] {
        [("valid_perplexity", try validationPerplexity(validation))]
    }

    /// Draws the step's shared samples (log-uniform over frequency-ranked ids, distinct, as
    /// TensorFlow's sampler) and uploads them with the log expected counts.
    private func uploadSamples(step: Int, labels: [Int32]) throws {
        var rng = SeededGenerator(seed: config.seed ^ UInt64(step) &* 0x9E37_79B9_7F4A_7C15 ^ 0x5A3D)
        let s = config.sampled
        let tries = sampler!.sampleUnique(s, into: &sampledIDs, &rng)
        let sampledLogQ = sampledIDs.map { sampler!.logExpectedCount(Int($0), count: s, tries: tries) }
        let labelLogQ = labels.map { sampler!.logExpectedCount(Int($0), count: s, tries: tries) }
        try model.uploadSamples(ids: sampledIDs, sampledLogQ: sampledLogQ, labelLogQ: labelLogQ, into: workspace)
    }

    // MARK: Validation

    /// Perplexity of the model on the validation slice (dropout off), by `protocol`.
    public func validationPerplexity(_ protocol: ValidationProtocol = .course) throws -> Double {
        try Self.perplexity(model: model, of: valid.ids, protocol: `protocol`, unrollings: config.unrollings)
    }

    /// Perplexity of `model` on `ids`: exp of the mean loss of predicting each next symbol (the
    /// last one wraps around to the first, as the course's generator does).
    public static func perplexity(model: CharLSTM, of ids: [UInt16], protocol: ValidationProtocol,
                                  unrollings: Int) throws -> Double {
        let be = model.backend, n = ids.count, v = model.alphabet.count
        guard n >= 2 else { throw LoomError.invalidArgument("need at least 2 characters to measure perplexity") }
        func input(_ i: Int) -> Int32 {
            let x = Int32(ids[(i % n + n) % n])
            return model.config.bigram ? Int32(ids[((i - 1) % n + n) % n]) * Int32(v) + x : x
        }
        switch `protocol` {
        case .course:
            // Batch 1, one character at a time; the ids go up once, each step reads a view.
            let ws = try model.workspace(batch: 1, steps: 1, training: false)
            let inputs = try be.tensor((0..<n).map(input)), labels = try be.tensor((0..<n).map { Int32(ids[($0 + 1) % n]) })
            try model.resetState(ws)
            for i in 0..<n {
                ws.inputs = inputs.elements(i, count: 1)
                ws.labels = labels.elements(i, count: 1)
                try model.forward(ws, training: false, step: 0)
                try model.carryState(ws)
            }
            return exp(try model.takeLoss(ws)!)
        case .batched:
            // Streams over contiguous chunks, segments of T steps, time-major.
            let t = max(1, unrollings)
            let streams = max(1, min(64, (n - 1) / t))
            let chunk = n / streams
            let segments = max(1, (chunk - 1) / t)
            let ws = try model.workspace(batch: streams, steps: t, training: false)
            var allInputs: [Int32] = [], allLabels: [Int32] = []
            for s in 0..<segments {
                for step in 0..<t {
                    for b in 0..<streams {
                        let i = b * chunk + s * t + step
                        allInputs.append(input(i))
                        allLabels.append(Int32(ids[(i + 1) % n]))
                    }
                }
            }
            let inputs = try be.tensor(allInputs), labels = try be.tensor(allLabels)
            try model.resetState(ws)
            for s in 0..<segments {
                ws.inputs = inputs.elements(s * t * streams, count: t * streams)
                ws.labels = labels.elements(s * t * streams, count: t * streams)
                try model.forward(ws, training: false, step: 0)
                try model.carryState(ws)
            }
            return exp(try model.takeLoss(ws)!)
        }
    }

    // MARK: Checkpoints

    struct CheckpointMetadata: Codable {
        var format = "loom-char-lstm-checkpoint"
        var config: CharLSTMConfig
        var alphabet: Alphabet
        var step: Int
        var trainCharacters: Int
    }

    /// Writes the model and the carried states of all `B` cursors (gathered from every rank; every
    /// rank calls this, rank 0 writes).
    public func saveCheckpoint(to url: URL, step: Int) throws {
        var states: [(String, [Float])] = []
        let c = cursors.count, h = config.hidden
        for l in 0..<config.layers {
            for (name, tensor) in [("state.cell\(l)", workspace.cells[l]), ("state.hidden\(l)", workspace.hiddens[l])] {
                let mine = try model.backend.floats(tensor.rows(0..<c))
                if let all = try communicator.gather(mine, root: 0) { states.append((name, all)) }
            }
        }
        guard communicator.isRoot else { return }
        var archive = try TensorArchive(metadata: CheckpointMetadata(
            config: config, alphabet: model.alphabet, step: step, trainCharacters: train.count))
        try model.save(into: &archive)
        // The carried states, so a resumed run continues exactly.
        for (name, values) in states { archive.set(name, floats: values, shape: [config.batchSize, h]) }
        try archive.write(to: url)
    }

    /// Continues a run saved by `saveCheckpoint` (on any backend). Its settings, alphabet and text
    /// must match; `steps` may be larger to train for longer.
    public func resume(from url: URL) throws {
        let archive = try TensorArchive.read(from: url)
        let meta = try archive.decodeMetadata(CheckpointMetadata.self, file: url.path)
        guard meta.format == "loom-char-lstm-checkpoint" else {
            throw LoomError.invalidData("\(url.path) is not a character-LSTM checkpoint")
        }
        var saved = meta.config, current = config
        saved.steps = 0; current.steps = 0
        guard saved == current else {
            throw LoomError.invalidArgument("\(url.path) was trained with other settings; resume with the same model and training options")
        }
        guard meta.alphabet == model.alphabet, meta.trainCharacters == train.count else {
            throw LoomError.invalidArgument("\(url.path) was trained on another text or alphabet")
        }
        try model.restore(from: archive)
        // This rank's cursors' rows of the saved states (saved by any number of ranks).
        let h = config.hidden
        for l in 0..<config.layers {
            for (name, tensor) in [("state.cell\(l)", workspace.cells[l]), ("state.hidden\(l)", workspace.hiddens[l])] {
                let all = try archive.floats(name)
                guard try archive.shape(name) == [config.batchSize, h] else {
                    throw LoomError.invalidData("\(url.path): '\(name)' is \(try archive.shape(name)), expected [\(config.batchSize), \(h)]")
                }
                try model.backend.upload(Array(all[cursors.lowerBound * h ..< cursors.upperBound * h]),
                                         to: tensor.rows(0..<cursors.count))
            }
        }
        startStep = meta.step
    }

    /// Loads a model (for generation) from a checkpoint, on any backend.
    public static func loadModel(from url: URL, backend: any Backend) throws -> CharLSTM {
        let archive = try TensorArchive.read(from: url)
        let meta = try archive.decodeMetadata(CheckpointMetadata.self, file: url.path)
        guard meta.format == "loom-char-lstm-checkpoint" else {
            throw LoomError.invalidData("\(url.path) is not a character-LSTM checkpoint")
        }
        let model = try CharLSTM(config: meta.config, alphabet: meta.alphabet, backend: backend)
        try model.restore(from: archive)
        return model
    }
}
