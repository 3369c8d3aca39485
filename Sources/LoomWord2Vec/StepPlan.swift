import Foundation
import LoomCore
import LoomData

/// Sizes of the host→device buffers of one step: every id a step needs goes up in one int32 upload
/// and every log expected count in one float upload, at fixed offsets.
struct PlanLayout: Equatable {
    let batch: Int          // examples, at most
    let width: Int          // ids per input row
    let candidates: Int     // sampled ids (shared) or negatives (per pair, batch·K)
    let outputRows: Int     // distinct output rows a step can touch

    // int32 offsets
    let inputs, inputSlots, inputUnique, labels, candidateIds, labelSlots, candidateSlots, outputUnique, intCount: Int
    // float offsets
    let labelLogQ, candidateLogQ, floatCount: Int

    init(config: Word2VecConfig, inputWidth: Int) {
        batch = config.batchSize
        width = inputWidth
        switch config.loss {
        case .sampled: candidates = config.numSampled
        case .negative: candidates = config.batchSize * config.numSampled
        case .softmax: candidates = 0
        }
        outputRows = batch + candidates
        var o = 0
        func take(_ n: Int) -> Int { defer { o += n }; return o }
        inputs = take(batch * width)
        inputSlots = take(batch * width)
        inputUnique = take(batch * width)
        labels = take(batch)
        candidateIds = take(candidates)
        labelSlots = take(batch)
        candidateSlots = take(candidates)
        outputUnique = take(outputRows)
        intCount = o
        labelLogQ = 0
        candidateLogQ = batch
        floatCount = config.loss == .sampled ? batch + candidates : 1
    }
}

/// Everything one step uploads, prepared on the host (by the producer thread).
final class StepPlan {
    var ints: [Int32]
    var floats: [Float]
    /// Examples in this batch (≤ layout.batch).
    var count = 0
    /// Distinct input rows and output rows touched.
    var inputUnique = 0
    var outputUnique = 0
    /// Corpus positions this step advanced.
    var words = 0
    /// Index of this step (0-based) and where the stream stands after it.
    var step = 0
    var positionAfter = StreamPosition()

    init(layout: PlanLayout) {
        ints = [Int32](repeating: 0, count: layout.intCount)
        floats = [Float](repeating: 0, count: layout.floatCount)
    }
}

/// Turns the example stream into step plans: cuts a batch, draws the sampled classes or negatives,
/// computes the log expected counts, and maps repeated ids to slots. Deterministic given the seed:
/// step `n`'s draws come from a generator seeded by (seed, n).
struct StepPlanner {
    let config: Word2VecConfig
    let layout: PlanLayout
    var stream: ExampleStream
    var step = 0
    private var batch = ExampleBatch()
    private var logUniform: LogUniformSampler?
    private var noise: AliasSampler?
    private var inputSlots: SlotMap
    private var outputSlots: SlotMap
    private var sampledIds: [Int32] = []

    init(config: Word2VecConfig, corpus: Corpus) {
        self.config = config
        let keep = config.sample > 0 ? corpus.vocabulary.keepProbabilities(threshold: config.sample) : nil
        stream = ExampleStream(ids: corpus.ids, model: config.model, batching: config.batching,
                               batchSize: config.batchSize, seed: config.seed, keep: keep)
        layout = PlanLayout(config: config, inputWidth: stream.inputWidth)
        let v = corpus.vocabulary.count
        switch config.loss {
        case .sampled: logUniform = LogUniformSampler(range: v)
        case .negative: noise = AliasSampler(weights: corpus.vocabulary.unigramDistribution(power: 0.75))
        case .softmax: break
        }
        inputSlots = SlotMap(range: v)
        outputSlots = SlotMap(range: v)
    }

    /// Continues from a checkpoint.
    mutating func seek(step: Int, position: StreamPosition) {
        self.step = step
        stream.position = position
    }

    mutating func fill(_ plan: StepPlan) {
        stream.next(into: &batch)
        let L = layout, b = batch.count
        plan.count = b
        plan.words = batch.words
        plan.step = step
        plan.positionAfter = stream.position
        var rng = SeededGenerator(seed: config.seed ^ (UInt64(step) &* 0xD1B5_4A32_D192_ED03) ^ 0x5EED)
        step += 1

        // Slots (distinct rows) are only needed by Adagrad; SGD updates each occurrence directly.
        let slots = config.optimizer == .adagrad
        plan.ints.withUnsafeMutableBufferPointer { ints in
            // Inputs and their slots among the distinct input rows.
            inputSlots.reset()
            for i in 0..<(b * L.width) {
                let id = batch.inputs[i]
                ints[L.inputs + i] = id
                if slots { ints[L.inputSlots + i] = id < 0 ? -1 : inputSlots.slot(id) }
            }
            for (u, id) in inputSlots.unique.enumerated() { ints[L.inputUnique + u] = id }
            plan.inputUnique = inputSlots.unique.count

            // Labels, candidates, and their slots among the distinct output rows.
            outputSlots.reset()
            for i in 0..<b {
                ints[L.labels + i] = batch.labels[i]
                if slots { ints[L.labelSlots + i] = outputSlots.slot(batch.labels[i]) }
            }
            switch config.loss {
            case .sampled:
                let s = config.numSampled
                let tries = logUniform!.sampleUnique(s, into: &sampledIds, &rng)
                plan.floats.withUnsafeMutableBufferPointer { f in
                    for i in 0..<b {
                        f[L.labelLogQ + i] = logUniform!.logExpectedCount(Int(batch.labels[i]), count: s, tries: tries)
                    }
                    for j in 0..<s {
                        ints[L.candidateIds + j] = sampledIds[j]
                        if slots { ints[L.candidateSlots + j] = outputSlots.slot(sampledIds[j]) }
                        f[L.candidateLogQ + j] = logUniform!.logExpectedCount(Int(sampledIds[j]), count: s, tries: tries)
                    }
                }
            case .negative:
                // One copy of the sampler for the loop: unwrapping the stored optional at every
                // draw retains and releases its tables each time.
                let k = config.numSampled, sampler = noise!
                for j in 0..<(b * k) {
                    let id = sampler.draw(&rng)
                    ints[L.candidateIds + j] = id
                    if slots { ints[L.candidateSlots + j] = outputSlots.slot(id) }
                }
            case .softmax:
                break
            }
            for (u, id) in outputSlots.unique.enumerated() { ints[L.outputUnique + u] = id }
            plan.outputUnique = outputSlots.unique.count
        }
    }
}
