import Foundation
import LoomCore
import LoomData
import LoomEmbeddings

/// word2vec's parameters and one training step, written against `Backend` alone.
///
/// Parameters and optimiser state live on the device for the whole run; a step uploads only the
/// ids (and log expected counts) its plan prepared, then runs:
/// embedding bag (skip-gram: one row) → fused loss (sampled softmax, negative sampling, or full
/// softmax) → per-step sums of repeated rows (`scatterAdd` into slots) → sparse optimiser updates
/// of just the touched rows. The loss is summed on the device and read only when asked.
public final class Word2VecModel {
    public let config: Word2VecConfig
    public let vocabulary: Vocabulary
    public let backend: any Backend
    let layout: PlanLayout

    /// `(V, D)` input embeddings: the word vectors.
    public let embeddings: Tensor
    /// `(V, D)` output weights and `(V, 1)` biases (biases: sampled and full softmax only).
    public let weights: Tensor
    public let biases: Tensor
    /// Optimiser state (Adagrad accumulators), one per parameter, or none for SGD.
    let embeddingState: [Tensor]
    let weightState: [Tensor]
    let biasState: [Tensor]

    // Per-step device buffers.
    let intUpload: Tensor
    let floatUpload: Tensor
    let hidden: Tensor              // (B, D)
    let gradInputRows: Tensor       // (B·width, D)
    let gradOutputRows: Tensor      // (outputRows, D)
    let gradOutputBias: Tensor      // (outputRows, 1)
    let sampledOutputs: SampledSoftmaxOutputs?
    let negativeOutputs: NegativeSamplingOutputs?
    let softmaxBuffers: (logits: Tensor, probabilities: Tensor, losses: Tensor, gradWeights: Tensor, gradBias: Tensor,
                         gradHidden: Tensor)?
    /// Σ of per-example losses since the last `takeLoss()`, on the device.
    let lossTotal: Tensor
    private var examplesSinceLoss = 0

    /// Examples are averaged (Adagrad, as the course's `reduce_mean`) or summed (SGD, as word2vec).
    var lossScaleIsMean: Bool { config.optimizer == .adagrad }

    public init(config: Word2VecConfig, vocabulary: Vocabulary, backend: any Backend, inputWidth: Int) throws {
        self.config = config
        self.vocabulary = vocabulary
        self.backend = backend
        layout = PlanLayout(config: config, inputWidth: inputWidth)
        let v = vocabulary.count, d = config.dimension, be = backend

        // Initialisation: the course's for sampled/full softmax, word2vec's for negative sampling.
        var rng = SeededGenerator(seed: config.seed ^ 0x1A17)
        let e: [Float], w: [Float]
        if config.loss == .negative {
            e = (0..<(v * d)).map { _ in (rng.nextFloat() - 0.5) / Float(d) }
            w = [Float](repeating: 0, count: v * d)
        } else {
            e = (0..<(v * d)).map { _ in rng.nextFloat() * 2 - 1 }
            let std = 1 / Float(d).squareRoot()
            w = (0..<(v * d)).map { _ in
                var x = rng.nextGaussian()
                while abs(x) > 2 { x = rng.nextGaussian() }   // truncated normal, as tf.truncated_normal
                return Float(x) * std
            }
        }
        embeddings = try be.tensor(e, shape: [v, d])
        weights = try be.tensor(w, shape: [v, d])
        biases = try be.zeros([v, 1])
        func state(_ like: Tensor) throws -> [Tensor] {
            guard config.optimizer == .adagrad else { return [] }
            let t = try be.allocate(like.shape, dtype: .float32)
            try be.fill(t, value: 0.1)    // TensorFlow's initial_accumulator_value
            return [t]
        }
        embeddingState = try state(embeddings)
        weightState = try state(weights)
        biasState = try state(biases)

        let b = layout.batch
        intUpload = try be.allocate([layout.intCount], dtype: .int32)
        floatUpload = try be.allocate([layout.floatCount], dtype: .float32)
        hidden = try be.allocate([b, d], dtype: .float32)
        gradInputRows = try be.allocate([b * layout.width, d], dtype: .float32)
        gradOutputRows = try be.allocate([max(layout.outputRows, 1), d], dtype: .float32)
        gradOutputBias = try be.allocate([max(layout.outputRows, 1), 1], dtype: .float32)
        lossTotal = try be.zeros([1])
        switch config.loss {
        case .sampled:
            sampledOutputs = try SampledSoftmaxOutputs.allocate(on: be, batch: b, sampled: config.numSampled, dim: d)
            negativeOutputs = nil
            softmaxBuffers = nil
        case .negative:
            negativeOutputs = try NegativeSamplingOutputs.allocate(on: be, batch: b, negatives: config.numSampled, dim: d)
            sampledOutputs = nil
            softmaxBuffers = nil
        case .softmax:
            softmaxBuffers = (try be.allocate([b, v], dtype: .float32), try be.allocate([b, v], dtype: .float32),
                              try be.allocate([b], dtype: .float32), try be.allocate([v, d], dtype: .float32),
                              try be.allocate([v, 1], dtype: .float32), try be.allocate([b, d], dtype: .float32))
            sampledOutputs = nil
            negativeOutputs = nil
        }
    }

    // MARK: Training step

    /// The update rule for this step (`progress` in [0, 1] drives SGD's linear decay).
    func rule(progress: Double) -> UpdateRule {
        switch config.optimizer {
        case .adagrad: return .adagrad(learningRate: config.learningRate, epsilon: 1e-7)
        case .sgd:
            let lr = Double(config.learningRate) * max(1e-4, 1 - progress)
            return .sgd(learningRate: Float(lr))
        }
    }

    /// Runs one step of `plan` on the device (enqueued; nothing comes back).
    func step(_ plan: StepPlan, progress: Double) throws {
        let be = backend, L = layout, b = plan.count
        guard b > 0 else { return }
        try be.upload(plan.ints, to: intUpload)
        if config.loss == .sampled { try be.upload(plan.floats, to: floatUpload) }
        func ints(_ offset: Int, _ count: Int) -> Tensor { intUpload.elements(offset, count: count) }
        let rule = rule(progress: progress)
        let scale: Float = lossScaleIsMean ? 1 / Float(b) : 1

        // Input vectors: one row (skip-gram) or the mean of a bag of context rows (CBOW).
        let inputs = ints(L.inputs, b * L.width).reshaped([b, L.width])
        let h = hidden.rows(0..<b)
        try be.embeddingBag(embeddings, ids: inputs, into: h, mean: config.model == .skipgram || config.cbowMean)
        let labels = ints(L.labels, b)
        let gradHidden: Tensor
        let losses: Tensor

        switch config.loss {
        case .sampled:
            let s = config.numSampled, o = sampledOutputs!
            let out = SampledSoftmaxOutputs(
                losses: o.losses.rows(0..<b), gradLogits: o.gradLogits.rows(0..<b), gradInputs: o.gradInputs.rows(0..<b),
                gradLabelRows: o.gradLabelRows.rows(0..<b), gradLabelBiases: o.gradLabelBiases.rows(0..<b),
                gradSampledRows: o.gradSampledRows, gradSampledBiases: o.gradSampledBiases)
            try be.sampledSoftmax(
                SampledSoftmaxProblem(inputs: h, labels: labels, sampled: ints(L.candidateIds, s),
                                      labelLogQ: floatUpload.elements(L.labelLogQ, count: b),
                                      sampledLogQ: floatUpload.elements(L.candidateLogQ, count: s),
                                      weights: weights, biases: biases.flattened()),
                outputs: out, lossScale: scale)
            try updateOutputRows(plan, rule: rule, labelRows: out.gradLabelRows, candidateRows: out.gradSampledRows,
                                 biases: (out.gradLabelBiases.reshaped([b, 1]), out.gradSampledBiases.reshaped([s, 1])),
                                 candidates: s)
            gradHidden = out.gradInputs
            losses = out.losses
        case .negative:
            let k = config.numSampled, o = negativeOutputs!
            let out = NegativeSamplingOutputs(
                losses: o.losses.rows(0..<b), gradInputs: o.gradInputs.rows(0..<b),
                gradTargetRows: o.gradTargetRows.rows(0..<b), gradNegativeRows: o.gradNegativeRows.rows(0..<(b * k)))
            try be.negativeSampling(
                NegativeSamplingProblem(inputs: h, targets: labels,
                                        negatives: ints(L.candidateIds, b * k).reshaped([b, k]), weights: weights),
                outputs: out, lossScale: scale)
            try updateOutputRows(plan, rule: rule, labelRows: out.gradTargetRows, candidateRows: out.gradNegativeRows,
                                 biases: nil, candidates: b * k)
            gradHidden = out.gradInputs
            losses = out.losses
        case .softmax:
            let sb = softmaxBuffers!
            let logits = sb.logits.rows(0..<b), probs = sb.probabilities.rows(0..<b)
            try be.gemm(h, weights, into: logits, transposeA: false, transposeB: true, alpha: 1, beta: 0)
            try be.addRowVector(biases.flattened(), to: logits)
            try be.softmaxCrossEntropy(logits, labels: labels, probabilities: probs, losses: sb.losses.rows(0..<b))
            try be.softmaxCrossEntropyBackward(probabilities: probs, labels: labels, into: logits, scale: scale)
            let dh = sb.gradHidden.rows(0..<b)
            try be.gemm(logits, weights, into: dh, transposeA: false, transposeB: false, alpha: 1, beta: 0)
            try be.gemm(logits, h, into: sb.gradWeights, transposeA: true, transposeB: false, alpha: 1, beta: 0)
            try be.sumRows(logits, into: sb.gradBias.flattened(), accumulate: false)
            try be.applyUpdate(rule, parameter: weights, gradient: sb.gradWeights, state: weightState, rows: nil)
            try be.applyUpdate(rule, parameter: biases, gradient: sb.gradBias, state: biasState, rows: nil)
            gradHidden = dh
            losses = sb.losses.rows(0..<b)
        }

        // Input rows. SGD is linear, so each occurrence's gradient goes straight into the table
        // (repeats add up); Adagrad first sums repeated ids into slots, then updates those rows.
        // CBOW with a mean: like word2vec and gensim, each context row receives the undivided gradient.
        if case let .sgd(lr) = rule {
            try be.embeddingBagBackward(gradHidden, slots: inputs, into: embeddings, mean: false, scale: -lr)
        } else {
            let u = plan.inputUnique
            let gradIn = gradInputRows.rows(0..<u)
            try be.fill(gradIn, value: 0)
            try be.embeddingBagBackward(gradHidden, slots: ints(L.inputSlots, b * L.width).reshaped([b, L.width]),
                                        into: gradIn, mean: false, scale: 1)
            try be.applyUpdate(rule, parameter: embeddings, gradient: gradIn, state: embeddingState,
                               rows: ints(L.inputUnique, u))
        }
        try be.sum(losses, into: lossTotal, accumulate: true)
        examplesSinceLoss += b
    }

    /// Updates the output rows of labels and candidates: straight into the parameters for SGD,
    /// through per-step slots (repeated ids summed first) for Adagrad.
    private func updateOutputRows(_ plan: StepPlan, rule: UpdateRule, labelRows: Tensor, candidateRows: Tensor,
                                  biases bias: (labels: Tensor, candidates: Tensor)?, candidates: Int) throws {
        let be = backend, L = layout, b = plan.count, u = plan.outputUnique
        if case let .sgd(lr) = rule {
            let labels = intUpload.elements(L.labels, count: b)
            let candidateIds = intUpload.elements(L.candidateIds, count: candidates)
            try be.scatterAdd(labelRows, indices: labels, into: weights, scale: -lr)
            try be.scatterAdd(candidateRows, indices: candidateIds, into: weights, scale: -lr)
            if let bias {
                try be.scatterAdd(bias.labels, indices: labels, into: biases, scale: -lr)
                try be.scatterAdd(bias.candidates, indices: candidateIds, into: biases, scale: -lr)
            }
            return
        }
        let labelSlots = intUpload.elements(L.labelSlots, count: b)
        let candidateSlots = intUpload.elements(L.candidateSlots, count: candidates)
        let rows = intUpload.elements(L.outputUnique, count: u)
        let grad = gradOutputRows.rows(0..<u)
        try be.fill(grad, value: 0)
        try be.scatterAdd(labelRows, indices: labelSlots, into: grad)
        try be.scatterAdd(candidateRows, indices: candidateSlots, into: grad)
        try be.applyUpdate(rule, parameter: weights, gradient: grad, state: weightState, rows: rows)
        if let bias {
            let gradBias = gradOutputBias.rows(0..<u)
            try be.fill(gradBias, value: 0)
            try be.scatterAdd(bias.labels, indices: labelSlots, into: gradBias)
            try be.scatterAdd(bias.candidates, indices: candidateSlots, into: gradBias)
            try be.applyUpdate(rule, parameter: biases, gradient: gradBias, state: biasState, rows: rows)
        }
    }

    /// The mean loss per example since the last call (one small download), or nil if no step ran.
    public func takeLoss() throws -> Double? {
        guard examplesSinceLoss > 0 else { return nil }
        let total = Double(try backend.scalar(lossTotal))
        try backend.fill(lossTotal, value: 0)
        defer { examplesSinceLoss = 0 }
        return total / Double(examplesSinceLoss)
    }

    // MARK: Using the vectors

    /// The `k` nearest words (cosine) of each id in `queries`, computed on the device; only the
    /// `(queries, V)` similarities come back.
    public func nearest(_ queries: [Int], k: Int) throws -> [[(word: String, similarity: Float)]] {
        let be = backend, v = vocabulary.count, d = config.dimension
        guard !queries.isEmpty else { return [] }
        let normalized = try be.allocate([v, d], dtype: .float32)
        try be.normalizeRows(embeddings, into: normalized)
        let q = try be.allocate([queries.count, d], dtype: .float32)
        try be.gather(normalized, indices: try be.tensor(queries.map(Int32.init)), into: q)
        let sims = try be.allocate([queries.count, v], dtype: .float32)
        try be.gemm(q, normalized, into: sims, transposeA: false, transposeB: true, alpha: 1, beta: 0)
        let all = try be.floats(sims)
        return queries.enumerated().map { (row, id) in
            let slice = all[(row * v)..<((row + 1) * v)]
            let best = slice.indices.filter { $0 - row * v != id }
                .sorted { all[$0] > all[$1] }.prefix(k)
            return best.map { (vocabulary.words[$0 - row * v], all[$0]) }
        }
    }

    /// The trained input embeddings as word vectors (one download).
    public func wordVectors() throws -> WordVectors {
        try WordVectors(words: vocabulary.words, dimension: config.dimension, vectors: try backend.floats(embeddings),
                        counts: vocabulary.counts)
    }

    // MARK: Checkpoints

    /// Parameters and optimiser state into `archive`.
    /// The checkpoint names of the input vectors (V, D), the output vectors (V, D) and the output
    /// biases (V), as a PyTorch module with an `embedding` and an `output` layer would call them.
    static let names = (embeddings: "embedding.weight", weights: "output.weight", biases: "output.bias")

    func save(into archive: inout TensorArchive) throws {
        try archive.set(Self.names.embeddings, tensor: embeddings, from: backend)
        try archive.set(Self.names.weights, tensor: weights, from: backend)
        try archive.set(Self.names.biases, tensor: biases, from: backend)
        for (name, states) in [(Self.names.embeddings, embeddingState), (Self.names.weights, weightState),
                               (Self.names.biases, biasState)] {
            for (i, s) in states.enumerated() { try archive.set("\(name).state\(i)", tensor: s, from: backend) }
        }
    }

    /// Restores what `save` wrote (from any backend).
    func restore(from archive: TensorArchive) throws {
        try archive.load(Self.names.embeddings, into: embeddings, on: backend)
        try archive.load(Self.names.weights, into: weights, on: backend)
        try archive.load(Self.names.biases, into: biases, on: backend)
        for (name, states) in [(Self.names.embeddings, embeddingState), (Self.names.weights, weightState),
                               (Self.names.biases, biasState)] {
            for (i, s) in states.enumerated() { try archive.load("\(name).state\(i)", into: s, on: backend) }
        }
    }
}
