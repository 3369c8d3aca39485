import Foundation
import LoomCore

/// A character-level LSTM language model: one-hot or embedded (optionally bigram) inputs, stacked
/// LSTM layers with the four gates in one matrix, and a softmax over the alphabet — written
/// against `Backend` alone, following the recipe behind cuDNN (Appleyard et al., 2016):
///
/// - the input projection of all `T` steps of a segment is ONE GEMM `(T·B, in) · (in, 4H)` (for
///   one-hot inputs, a gather of rows of `W_x`);
/// - each step adds its recurrent projection with one GEMM `(B, H) · (H, 4H)`, then one fused
///   kernel applies the gate nonlinearities and the cell and hidden updates;
/// - the output logits of all steps are ONE GEMM, then a fused softmax cross-entropy;
/// - backward runs in reverse through the same pieces; `W_h`'s gradient is one GEMM over the
///   segment, as are `W_x`'s and the output layer's.
///
/// Every buffer of a segment is allocated once (`Workspace`); a training step uploads the ids of
/// its segment and nothing comes back until the loss is asked for.
public final class CharLSTM {
    public let config: CharLSTMConfig
    public let alphabet: Alphabet
    public let backend: any Backend

    /// One trainable tensor with its gradient and optimiser state.
    struct Parameter {
        let name: String
        let value: Tensor
        let gradient: Tensor
        var state: [Tensor]
        /// Weight matrices take L2 decay; biases do not.
        let decays: Bool
    }

    private(set) var parameters: [Parameter] = []
    /// All parameters, gradients and optimiser state, each one flat buffer (`parameters` are views).
    let flatValues: Tensor
    let flatGradients: Tensor
    let flatState: [Tensor]
    /// Index in `parameters` of the embedding (if any), each layer's (W_x, W_h, b), and the output (W, b).
    let embeddingIndex: Int?
    let layerIndices: [(wx: Int, wh: Int, b: Int)]
    let outputIndex: (w: Int, b: Int)

    /// Width of the input of layer `l`.
    func inputWidth(_ l: Int) -> Int { l == 0 ? (config.embedding > 0 ? config.embedding : inputVocabulary) : config.hidden }
    var inputVocabulary: Int { config.inputVocabulary(alphabet.count) }
    var oneHot: Bool { config.embedding == 0 }

    public init(config: CharLSTMConfig, alphabet: Alphabet, backend: any Backend) throws {
        self.config = config
        self.alphabet = alphabet
        self.backend = backend
        let h = config.hidden, v = alphabet.count
        let vin = config.inputVocabulary(v)
        // Every parameter (and its gradient and optimiser state) is a view of one flat buffer, so
        // clipping, the global norm and the optimiser step are one op each for the whole model.
        var specs: [(name: String, shape: Shape, fanIn: Int, fanOut: Int, decays: Bool, zero: Bool)] = []
        if config.embedding > 0 {
            specs.append(("embedding", [vin, config.embedding], vin, config.embedding, true, false))
        }
        for l in 0..<config.layers {
            let input = l == 0 ? (config.embedding > 0 ? config.embedding : vin) : h
            specs.append(("layer\(l).wx", [input, 4 * h], input, 4 * h, true, false))
            specs.append(("layer\(l).wh", [h, 4 * h], h, 4 * h, true, false))
            specs.append(("layer\(l).b", [4 * h], 1, 1, false, true))
        }
        // The output layer is (H, V) for the full softmax, (V, H) — rows by class — for sampled softmax.
        specs.append(("output.w", config.sampled > 0 ? [v, h] : [h, v], h, v, true, false))
        specs.append(("output.b", [v], 1, 1, false, true))
        let total = specs.reduce(0) { $0 + $1.shape.count }

        var rng = SeededGenerator(seed: config.seed ^ 0x157A)
        var values: [Float] = []
        values.reserveCapacity(total)
        for spec in specs {
            let n = spec.shape.count
            if spec.zero {
                values += [Float](repeating: 0, count: n)
            } else if config.initialization == .course {
                // tf.truncated_normal(shape, -0.1, 0.1): mean −0.1, sd 0.1, redrawn beyond 2 sd.
                for _ in 0..<n {
                    var x = rng.nextGaussian()
                    while abs(x) > 2 { x = rng.nextGaussian() }
                    values.append(Float(-0.1 + 0.1 * x))
                }
            } else {
                let limit = Float((6.0 / Double(spec.fanIn + spec.fanOut)).squareRoot())
                for _ in 0..<n { values.append((rng.nextFloat() * 2 - 1) * limit) }
            }
        }
        flatValues = try backend.tensor(values)
        flatGradients = try backend.zeros([total])
        flatState = try (0..<(config.optimizer == .adam ? 2 : 0)).map { _ in try backend.zeros([total]) }

        var list: [Parameter] = []
        var offset = 0
        for spec in specs {
            let n = spec.shape.count
            list.append(Parameter(name: spec.name, value: flatValues.elements(offset, count: n).reshaped(spec.shape),
                                  gradient: flatGradients.elements(offset, count: n).reshaped(spec.shape),
                                  state: flatState.map { $0.elements(offset, count: n).reshaped(spec.shape) },
                                  decays: spec.decays))
            offset += n
        }
        parameters = list
        var index = 0
        embeddingIndex = config.embedding > 0 ? 0 : nil
        if config.embedding > 0 { index = 1 }
        layerIndices = (0..<config.layers).map { l in (wx: index + 3 * l, wh: index + 3 * l + 1, b: index + 3 * l + 2) }
        outputIndex = (w: list.count - 2, b: list.count - 1)
    }

    /// Number of trainable values.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    // MARK: Workspaces

    /// Every device buffer of a segment of `steps` × `batch`. States live in block 0 of `cells`
    /// and `hiddens` (block t+1 is the state after step t) and are carried to the next segment.
    public final class Workspace {
        public let batch: Int
        public let steps: Int
        let withGradients: Bool
        /// (T·B) int32 ids, time-major; uploaded, or views of a sequence already on the device.
        var inputs: Tensor
        var labels: Tensor
        let ownInputs: Tensor
        let ownLabels: Tensor
        /// (T·B, E) embedded inputs, and after dropout.
        let embedded: Tensor?
        let embeddedDropped: Tensor?
        /// Per layer: gates (T·B, 4H), cells and hiddens ((T+1)·B, H), dropped outputs (T·B, H).
        let gates: [Tensor]
        let cells: [Tensor]
        let hiddens: [Tensor]
        let outputs: [Tensor?]
        let logits: Tensor
        let probabilities: Tensor
        let losses: Tensor
        /// Σ losses since the last read, and examples counted.
        let lossTotal: Tensor
        var lossCount = 0
        // Backward buffers.
        let gradOutputs: Tensor?     // (T·B, H)
        let gradInputs: Tensor?      // (T·B, max input width)
        let gradGates: Tensor?       // (T·B, 4H)
        let gradCell: Tensor?        // (B, H)
        let gradNorm: Tensor         // (1)
        // Sampled softmax (training with `sampled` > 0): the step's samples, uploaded by the trainer.
        let sampledIDs: Tensor?      // (S) int32
        let sampledLogQ: Tensor?     // (S)
        let labelLogQ: Tensor?       // (T·B)
        let sampledOutputs: SampledSoftmaxOutputs?
        let gradOutputBias: Tensor?  // (V, 1) scratch for the scattered bias gradient

        init(model: CharLSTM, batch: Int, steps: Int, withGradients: Bool) throws {
            let be = model.backend, c = model.config, h = c.hidden, n = batch * steps, v = model.alphabet.count
            self.batch = batch
            self.steps = steps
            self.withGradients = withGradients
            ownInputs = try be.zeros([n], dtype: .int32)
            ownLabels = try be.zeros([n], dtype: .int32)
            inputs = ownInputs
            labels = ownLabels
            if c.embedding > 0 {
                embedded = try be.zeros([n, c.embedding])
                embeddedDropped = c.dropout > 0 ? try be.zeros([n, c.embedding]) : nil
            } else {
                embedded = nil
                embeddedDropped = nil
            }
            gates = try (0..<c.layers).map { _ in try be.zeros([n, 4 * h]) }
            cells = try (0..<c.layers).map { _ in try be.zeros([n + batch, h]) }
            hiddens = try (0..<c.layers).map { _ in try be.zeros([n + batch, h]) }
            outputs = try (0..<c.layers).map { _ in c.dropout > 0 ? try be.zeros([n, h]) : nil }
            logits = try be.zeros([n, v])
            probabilities = try be.zeros([n, v])
            losses = try be.zeros([n])
            lossTotal = try be.zeros([1])
            gradNorm = try be.zeros([1])
            if withGradients && c.sampled > 0 {
                sampledIDs = try be.zeros([c.sampled], dtype: .int32)
                sampledLogQ = try be.zeros([c.sampled])
                labelLogQ = try be.zeros([n])
                sampledOutputs = try SampledSoftmaxOutputs.allocate(on: be, batch: n, sampled: c.sampled, dim: h)
                gradOutputBias = try be.zeros([v, 1])
            } else {
                sampledIDs = nil; sampledLogQ = nil; labelLogQ = nil; sampledOutputs = nil; gradOutputBias = nil
            }
            if withGradients {
                gradOutputs = try be.zeros([n, h])
                gradInputs = try be.zeros([n, max(h, model.inputWidth(0))])
                gradGates = try be.zeros([n, 4 * h])
                gradCell = try be.zeros([batch, h])
            } else {
                gradOutputs = nil; gradInputs = nil; gradGates = nil; gradCell = nil
            }
        }

        /// Rows of step `t` in a (T·B, …) buffer.
        func step(_ t: Int, of x: Tensor) -> Tensor { x.rows((t * batch)..<((t + 1) * batch)) }
    }

    /// A workspace for segments of `steps` steps of `batch` sequences.
    public func workspace(batch: Int, steps: Int, training: Bool) throws -> Workspace {
        try Workspace(model: self, batch: batch, steps: steps, withGradients: training)
    }

    /// Uploads a segment's ids into `ws`: `inputs` and `labels` are time-major, `T·B` each.
    public func upload(inputs: [Int32], labels: [Int32], into ws: Workspace) throws {
        ws.inputs = ws.ownInputs
        ws.labels = ws.ownLabels
        try backend.upload(inputs, to: ws.ownInputs)
        try backend.upload(labels, to: ws.ownLabels)
    }

    /// Uploads a step's sampled classes and the log expected counts of its labels and samples
    /// (sampled-softmax training).
    public func uploadSamples(ids: [Int32], sampledLogQ: [Float], labelLogQ: [Float], into ws: Workspace) throws {
        guard let sampledIDs = ws.sampledIDs, let sq = ws.sampledLogQ, let lq = ws.labelLogQ else {
            throw LoomError.invalidArgument("this model trains with the full softmax (--sampled 0)")
        }
        try backend.upload(ids, to: sampledIDs)
        try backend.upload(sampledLogQ, to: sq)
        try backend.upload(labelLogQ, to: lq)
    }

    /// Zeroes the carried states (block 0) of `ws`.
    public func resetState(_ ws: Workspace) throws {
        for l in 0..<config.layers {
            try backend.fill(ws.cells[l].rows(0..<ws.batch), value: 0)
            try backend.fill(ws.hiddens[l].rows(0..<ws.batch), value: 0)
        }
    }

    /// Moves the final states of the segment (block T) into block 0 for the next segment.
    func carryState(_ ws: Workspace) throws {
        let b = ws.batch, t = ws.steps
        for l in 0..<config.layers {
            try backend.copy(ws.cells[l].rows((t * b)..<((t + 1) * b)), to: ws.cells[l].rows(0..<b))
            try backend.copy(ws.hiddens[l].rows((t * b)..<((t + 1) * b)), to: ws.hiddens[l].rows(0..<b))
        }
    }

    // MARK: Forward

    /// The dropout stream of a site (0: embedding, 1 + l: output of layer l) at a training step.
    func dropoutStream(step: Int, site: Int) -> UInt64 { UInt64(step) << 8 | UInt64(site) }

    /// Forward pass over the segment in `ws` (ids already in `ws.inputs`/`ws.labels`): logits,
    /// softmax cross-entropy, and Σ loss added to `ws.lossTotal`. Dropout only when `training`.
    /// With `computeLoss: false` (generation) the probabilities are a plain softmax.
    func forward(_ ws: Workspace, training: Bool, step: Int, computeLoss: Bool = true) throws {
        let be = backend, b = ws.batch, n = ws.batch * ws.steps
        let keep = 1 - config.dropout
        let dropout = training && config.dropout > 0
        var input: Tensor? = nil
        if let e = embeddingIndex, let embedded = ws.embedded {
            try be.gather(parameters[e].value, indices: ws.inputs, into: embedded)
            input = embedded
            if dropout, let dropped = ws.embeddedDropped {
                try be.dropout(embedded, into: dropped, keepProbability: keep, seed: config.seed,
                               stream: dropoutStream(step: step, site: 0))
                input = dropped
            }
        }
        for l in 0..<config.layers {
            let (wx, wh, bias) = layerIndices[l]
            let gates = ws.gates[l]
            // Input projection of every step at once.
            if l == 0 && oneHot {
                try be.gather(parameters[wx].value, indices: ws.inputs, into: gates)
            } else {
                try be.gemm(input!, parameters[wx].value, into: gates, transposeA: false, transposeB: false, alpha: 1, beta: 0)
            }
            try be.addRowVector(parameters[bias].value, to: gates)
            // The recurrence: one GEMM and one fused gate kernel per step.
            let cells = ws.cells[l], hiddens = ws.hiddens[l]
            for t in 0..<ws.steps {
                let g = ws.step(t, of: gates)
                try be.gemm(hiddens.rows((t * b)..<((t + 1) * b)), parameters[wh].value, into: g,
                            transposeA: false, transposeB: false, alpha: 1, beta: 1)
                try be.lstmGatesForward(gates: g, previousCell: cells.rows((t * b)..<((t + 1) * b)),
                                        cell: cells.rows(((t + 1) * b)..<((t + 2) * b)),
                                        hidden: hiddens.rows(((t + 1) * b)..<((t + 2) * b)))
            }
            var output = hiddens.rows(b..<(n + b))
            if dropout, let dropped = ws.outputs[l] {
                try be.dropout(output, into: dropped, keepProbability: keep, seed: config.seed,
                               stream: dropoutStream(step: step, site: 1 + l))
                output = dropped
            }
            input = output
        }
        if training && config.sampled > 0, let o = ws.sampledOutputs {
            // Sampled softmax: logits only for each label and the step's shared samples.
            try be.sampledSoftmax(
                SampledSoftmaxProblem(inputs: input!, labels: ws.labels, sampled: ws.sampledIDs!,
                                      labelLogQ: ws.labelLogQ!, sampledLogQ: ws.sampledLogQ!,
                                      weights: parameters[outputIndex.w].value, biases: parameters[outputIndex.b].value),
                outputs: o, lossScale: 1 / Float(n))
            try be.sum(o.losses, into: ws.lossTotal, accumulate: true)
            ws.lossCount += n
            return
        }
        try be.gemm(input!, parameters[outputIndex.w].value, into: ws.logits, transposeA: false,
                    transposeB: config.sampled > 0, alpha: 1, beta: 0)
        try be.addRowVector(parameters[outputIndex.b].value, to: ws.logits)
        if computeLoss {
            try be.softmaxCrossEntropy(ws.logits, labels: ws.labels, probabilities: ws.probabilities, losses: ws.losses)
            try be.sum(ws.losses, into: ws.lossTotal, accumulate: true)
            ws.lossCount += n
        } else {
            try be.softmax(ws.logits, into: ws.probabilities)
        }
    }

    /// The last layer's output feeding the softmax (after dropout when training).
    private func lastOutput(_ ws: Workspace, training: Bool) -> Tensor {
        let l = config.layers - 1
        if training && config.dropout > 0, let dropped = ws.outputs[l] { return dropped }
        return ws.hiddens[l].rows(ws.batch..<(ws.batch * (ws.steps + 1)))
    }

    /// The input of layer `l` as the forward pass saw it.
    private func layerInput(_ ws: Workspace, _ l: Int, training: Bool) -> Tensor? {
        if l == 0 {
            guard let embedded = ws.embedded else { return nil }
            return training && config.dropout > 0 ? ws.embeddedDropped! : embedded
        }
        if training && config.dropout > 0, let dropped = ws.outputs[l - 1] { return dropped }
        return ws.hiddens[l - 1].rows(ws.batch..<(ws.batch * (ws.steps + 1)))
    }

    // MARK: Backward

    /// Backpropagation through time over the segment; gradients land in `parameters[i].gradient`.
    func backward(_ ws: Workspace, step: Int) throws {
        let be = backend, b = ws.batch, n = b * ws.steps
        let keep = 1 - config.dropout
        let dropout = config.dropout > 0
        guard let gradOutputs = ws.gradOutputs, let gradInputs = ws.gradInputs, let gradGates = ws.gradGates,
              let gradCell = ws.gradCell else {
            throw LoomError.invalidArgument("backward needs a training workspace")
        }
        if config.sampled > 0, let o = ws.sampledOutputs, let sampledIDs = ws.sampledIDs, let gradBias = ws.gradOutputBias {
            // Sampled softmax: the fused op gave the input gradient and the rows of the labels and
            // samples; they add up into the (dense) output gradients.
            let gw = parameters[outputIndex.w].gradient
            try be.copy(o.gradInputs, to: gradOutputs)
            try be.fill(gw, value: 0)
            try be.scatterAdd(o.gradLabelRows, indices: ws.labels, into: gw)
            try be.scatterAdd(o.gradSampledRows, indices: sampledIDs, into: gw)
            try be.fill(gradBias, value: 0)
            try be.scatterAdd(o.gradLabelBiases.reshaped([n, 1]), indices: ws.labels, into: gradBias)
            try be.scatterAdd(o.gradSampledBiases.reshaped([config.sampled, 1]), indices: sampledIDs, into: gradBias)
            try be.copy(gradBias, to: parameters[outputIndex.b].gradient)
        } else {
            // Softmax layer: dlogits (in place), then its weights, then the gradient of the last output.
            try be.softmaxCrossEntropyBackward(probabilities: ws.probabilities, labels: ws.labels, into: ws.logits,
                                               scale: 1 / Float(n))
            let last = lastOutput(ws, training: true)
            try be.gemm(last, ws.logits, into: parameters[outputIndex.w].gradient, transposeA: true, transposeB: false,
                        alpha: 1, beta: 0)
            try be.sumRows(ws.logits, into: parameters[outputIndex.b].gradient, accumulate: false)
            try be.gemm(ws.logits, parameters[outputIndex.w].value, into: gradOutputs, transposeA: false, transposeB: true,
                        alpha: 1, beta: 0)
        }

        for l in stride(from: config.layers - 1, through: 0, by: -1) {
            let (wx, wh, bias) = layerIndices[l]
            if dropout {
                try be.dropoutBackward(gradOutputs, into: gradOutputs, keepProbability: keep, seed: config.seed,
                                       stream: dropoutStream(step: step, site: 1 + l))
            }
            // Through time, last step first: step t's gradient w.r.t. h_{t−1} is added straight into
            // the output gradient of step t−1 (one GEMM with β = 1). Nothing flows into the previous
            // segment.
            try be.fill(gradCell, value: 0)
            let cells = ws.cells[l], gates = ws.gates[l], hiddens = ws.hiddens[l]
            for t in stride(from: ws.steps - 1, through: 0, by: -1) {
                try be.lstmGatesBackward(gates: ws.step(t, of: gates), previousCell: cells.rows((t * b)..<((t + 1) * b)),
                                         cell: cells.rows(((t + 1) * b)..<((t + 2) * b)),
                                         gradHidden: ws.step(t, of: gradOutputs), gradCell: gradCell,
                                         gradGates: ws.step(t, of: gradGates))
                if t > 0 {
                    try be.gemm(ws.step(t, of: gradGates), parameters[wh].value, into: ws.step(t - 1, of: gradOutputs),
                                transposeA: false, transposeB: true, alpha: 1, beta: 1)
                }
            }
            // Whole-segment weight gradients: one GEMM each.
            try be.gemm(hiddens.rows(0..<n), gradGates, into: parameters[wh].gradient, transposeA: true,
                        transposeB: false, alpha: 1, beta: 0)
            try be.sumRows(gradGates, into: parameters[bias].gradient, accumulate: false)
            if l == 0 && oneHot {
                try be.fill(parameters[wx].gradient, value: 0)
                try be.scatterAdd(gradGates, indices: ws.inputs, into: parameters[wx].gradient)
                continue
            }
            let input = layerInput(ws, l, training: true)!
            try be.gemm(input, gradGates, into: parameters[wx].gradient, transposeA: true, transposeB: false,
                        alpha: 1, beta: 0)
            let width = inputWidth(l)
            let gradIn = gradInputs.reshaped([gradInputs.count / width, width]).rows(0..<n)
            try be.gemm(gradGates, parameters[wx].value, into: gradIn, transposeA: false, transposeB: true,
                        alpha: 1, beta: 0)
            if l > 0 {
                try be.copy(gradIn, to: gradOutputs)    // the gradient of layer l−1's (dropped) output
            } else if let e = embeddingIndex {
                if dropout {
                    try be.dropoutBackward(gradIn, into: gradIn, keepProbability: keep, seed: config.seed,
                                           stream: dropoutStream(step: step, site: 0))
                }
                try be.fill(parameters[e].gradient, value: 0)
                try be.scatterAdd(gradIn, indices: ws.inputs, into: parameters[e].gradient)
            }
        }
    }

    /// L2, global-norm clipping and the optimiser step, all on the device, on the flat buffers.
    func update(_ ws: Workspace, step: Int) throws {
        let be = backend
        if config.l2 > 0 {
            for p in parameters where p.decays { try be.axpy(alpha: config.l2, p.value, p.gradient) }
        }
        if config.clip > 0 {
            try be.sumOfSquares(flatGradients, into: ws.gradNorm, accumulate: false)
            try be.clipByGlobalNorm(flatGradients, sumOfSquares: ws.gradNorm, maxNorm: config.clip)
        }
        let rule: UpdateRule
        switch config.optimizer {
        case .sgd: rule = .sgd(learningRate: config.learningRate(at: step))
        case .adam: rule = .adam(learningRate: config.learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: step + 1)
        }
        try be.applyUpdate(rule, parameter: flatValues, gradient: flatGradients, state: flatState, rows: nil)
    }

    /// One training step on the segment already in `ws`: forward, backward, update, carry the state.
    public func trainStep(_ ws: Workspace, step: Int) throws {
        try forward(ws, training: true, step: step)
        try backward(ws, step: step)
        try update(ws, step: step)
        try carryState(ws)
    }

    /// Mean loss per character since the last call on `ws` (one download), or nil.
    public func takeLoss(_ ws: Workspace) throws -> Double? {
        guard ws.lossCount > 0 else { return nil }
        let total = Double(try backend.scalar(ws.lossTotal))
        try backend.fill(ws.lossTotal, value: 0)
        defer { ws.lossCount = 0 }
        return total / Double(ws.lossCount)
    }

    // MARK: Checkpoints

    func save(into archive: inout TensorArchive) throws {
        for p in parameters {
            try archive.set(p.name, tensor: p.value, from: backend)
            for (i, s) in p.state.enumerated() { try archive.set("\(p.name).state\(i)", tensor: s, from: backend) }
        }
    }

    func restore(from archive: TensorArchive) throws {
        for p in parameters {
            try archive.load(p.name, into: p.value, on: backend)
            for (i, s) in p.state.enumerated() { try archive.load("\(p.name).state\(i)", into: s, on: backend) }
        }
    }
}
