import LoomCore

/// The output layer of a language model or decoder: logits `x · W + b` over `V` classes, the
/// cross-entropy with the targets, and its backward pass. Targets of −1 are padding: they add
/// nothing to the loss or the gradients. With `sampled > 0`, training uses sampled softmax
/// (TensorFlow's `sampled_softmax_loss`, one fused op) over samples the caller uploads per step;
/// evaluation always uses the full softmax.
///
/// `W` is `(H, V)` for the full softmax and `(V, H)` — a row per class — for sampled softmax.
public final class SoftmaxOutput {
    public let inputWidth: Int
    public let classes: Int
    public let sampled: Int
    public let weight: ParameterStore.ID
    public let bias: ParameterStore.ID
    let store: ParameterStore

    /// Registers `prefix + "weight"` and `prefix + "bias"`.
    public init(store: ParameterStore, prefix: String, inputWidth: Int, classes: Int, sampled: Int = 0,
                initializer: Initializer) {
        self.inputWidth = inputWidth
        self.classes = classes
        self.sampled = sampled
        self.store = store
        weight = store.register(prefix + "weight", shape: sampled > 0 ? [classes, inputWidth] : [inputWidth, classes],
                                initializer: initializer, decays: true)
        bias = store.register(prefix + "bias", shape: [classes], initializer: .zeros, decays: false)
    }

    var backend: any Backend { store.backend! }

    /// Buffers for `rows` predictions.
    public final class Workspace {
        public let rows: Int
        /// `(N, V)` logits; after `backward`, their gradient.
        public let logits: Tensor
        /// `(N, V)` softmax of the logits.
        public let probabilities: Tensor
        let losses: Tensor
        /// Σ loss since the last `takeLoss`, and the number of (non-padding) targets counted.
        let lossTotal: Tensor
        public internal(set) var lossCount = 0
        /// `(N, H)` the gradient w.r.t. the input, written by `backward`.
        public let gradInput: Tensor?
        // Sampled softmax (training with `sampled` > 0): the step's samples, uploaded by the caller.
        public let sampledIDs: Tensor?      // (S) int32
        public let sampledLogQ: Tensor?     // (S)
        public let labelLogQ: Tensor?       // (N)
        let sampledOutputs: SampledSoftmaxOutputs?
        let gradBias: Tensor?               // (V, 1) scratch for the scattered bias gradient

        init(layer: SoftmaxOutput, rows n: Int, training: Bool, ownGradient: Bool) throws {
            let be = layer.backend, v = layer.classes, h = layer.inputWidth
            rows = n
            logits = try be.zeros([n, v])
            probabilities = try be.zeros([n, v])
            losses = try be.zeros([n])
            lossTotal = try be.zeros([1])
            gradInput = training && layer.sampled == 0 && ownGradient ? try be.zeros([n, h]) : nil
            if training && layer.sampled > 0 {
                sampledIDs = try be.zeros([layer.sampled], dtype: .int32)
                sampledLogQ = try be.zeros([layer.sampled])
                labelLogQ = try be.zeros([n])
                sampledOutputs = try SampledSoftmaxOutputs.allocate(on: be, batch: n, sampled: layer.sampled, dim: h)
                gradBias = try be.zeros([v, 1])
            } else {
                sampledIDs = nil; sampledLogQ = nil; labelLogQ = nil; sampledOutputs = nil; gradBias = nil
            }
        }

        /// `(N, H)` the gradient w.r.t. the input after `backward`.
        public var inputGradient: Tensor? { sampledOutputs?.gradInputs ?? gradInput }
    }

    /// Buffers for `rows` predictions; `ownGradient: false` when `backward` will always be given
    /// a destination for the input gradient.
    public func workspace(rows: Int, training: Bool, ownGradient: Bool = true) throws -> Workspace {
        try Workspace(layer: self, rows: rows, training: training, ownGradient: ownGradient)
    }

    /// Logits of `input` `(N, H)` into `ws.logits`.
    public func logits(_ input: Tensor, _ ws: Workspace) throws {
        try backend.gemm(input, store[weight].value, into: ws.logits, transposeA: false, transposeB: sampled > 0,
                         alpha: 1, beta: 0)
        try backend.addRowVector(store[bias].value, to: ws.logits)
    }

    /// The loss of predicting `labels` `(N)` from `input` `(N, H)`, added to `ws`'s running total.
    /// - Parameters:
    ///   - targets: the number of labels that are not padding (the loss is a mean over them).
    ///   - sampledTraining: use sampled softmax (the samples must be in `ws`).
    public func forward(_ input: Tensor, labels: Tensor, targets: Int, _ ws: Workspace,
                        sampledTraining: Bool = false) throws {
        let be = backend
        if sampledTraining, let o = ws.sampledOutputs {
            try be.sampledSoftmax(
                SampledSoftmaxProblem(inputs: input, labels: labels, sampled: ws.sampledIDs!, labelLogQ: ws.labelLogQ!,
                                      sampledLogQ: ws.sampledLogQ!, weights: store[weight].value, biases: store[bias].value),
                outputs: o, lossScale: 1 / Float(max(targets, 1)))
            try be.sum(o.losses, into: ws.lossTotal, accumulate: true)
        } else {
            try logits(input, ws)
            try be.softmaxCrossEntropy(ws.logits, labels: labels, probabilities: ws.probabilities, losses: ws.losses)
            try be.sum(ws.losses, into: ws.lossTotal, accumulate: true)
        }
        ws.lossCount += targets
    }

    /// Next-class probabilities of `input` `(N, H)` into `ws.probabilities` (no loss).
    public func predict(_ input: Tensor, _ ws: Workspace) throws {
        try logits(input, ws)
        try backend.softmax(ws.logits, into: ws.probabilities)
    }

    /// Gradients of the mean loss of the last `forward` over its `targets`: the layer's
    /// parameters (overwritten) and the input's, into `gradInput` `(N, H)` (e.g. the LSTM's
    /// output-gradient buffer) or else `ws.inputGradient`.
    public func backward(_ input: Tensor, labels: Tensor, targets: Int, _ ws: Workspace,
                         into destination: Tensor? = nil) throws {
        let be = backend, n = ws.rows
        if let o = ws.sampledOutputs, let sampledIDs = ws.sampledIDs, let gradBias = ws.gradBias {
            // The fused op gave the input gradient and the rows of the labels and samples; they
            // add up into the (dense) output gradients.
            let gw = store[weight].gradient!
            try be.fill(gw, value: 0)
            try be.scatterAdd(o.gradLabelRows, indices: labels, into: gw)
            try be.scatterAdd(o.gradSampledRows, indices: sampledIDs, into: gw)
            try be.fill(gradBias, value: 0)
            try be.scatterAdd(o.gradLabelBiases.reshaped([n, 1]), indices: labels, into: gradBias)
            try be.scatterAdd(o.gradSampledBiases.reshaped([sampled, 1]), indices: sampledIDs, into: gradBias)
            try be.copy(gradBias, to: store[bias].gradient)
            if let destination { try be.copy(o.gradInputs, to: destination) }
            return
        }
        guard let gradInput = destination ?? ws.gradInput else {
            throw LoomError.invalidArgument("SoftmaxOutput.backward needs a training workspace")
        }
        // dlogits (in place), then the weights, then the gradient of the input.
        try be.softmaxCrossEntropyBackward(probabilities: ws.probabilities, labels: labels, into: ws.logits,
                                           scale: 1 / Float(max(targets, 1)))
        try be.gemm(input, ws.logits, into: store[weight].gradient, transposeA: true, transposeB: false, alpha: 1, beta: 0)
        try be.sumRows(ws.logits, into: store[bias].gradient, accumulate: false)
        try be.gemm(ws.logits, store[weight].value, into: gradInput, transposeA: false, transposeB: true, alpha: 1, beta: 0)
    }

    /// Mean loss per target since the last call (one download), or nil when nothing was counted.
    public func takeLoss(_ ws: Workspace) throws -> Double? {
        guard ws.lossCount > 0 else { return nil }
        let total = Double(try backend.scalar(ws.lossTotal))
        try backend.fill(ws.lossTotal, value: 0)
        defer { ws.lossCount = 0 }
        return total / Double(ws.lossCount)
    }
}
