import Foundation
import LoomCore
import LoomLayers

/// A character-level LSTM language model, a composition of layers: one-hot or embedded
/// (optionally bigram) inputs (`Embedding`), stacked LSTM layers (`LSTMStack`) and a softmax over
/// the alphabet (`SoftmaxOutput`, full or sampled), every parameter in one `ParameterStore`.
///
/// Every buffer of a segment is allocated once (`Workspace`); a training step uploads the ids of
/// its segment and nothing comes back until the loss is asked for.
public final class CharLSTM {
    public let config: CharLSTMConfig
    public let alphabet: Alphabet
    public let backend: any Backend
    public let store = ParameterStore()
    let embedding: Embedding?
    let stack: LSTMStack
    let output: SoftmaxOutput

    /// The model's parameters, in registration order: embedding, each layer's (W_x, W_h, b), output (W, b).
    public var parameters: [ParameterStore.Parameter] { store.parameters }
    /// Index in `parameters` of the embedding (if any), each layer's (W_x, W_h, b), and the output (W, b).
    var embeddingIndex: Int? { embedding?.table.index }
    var layerIndices: [(wx: Int, wh: Int, b: Int)] { stack.weights.map { ($0.wx.index, $0.wh.index, $0.b.index) } }
    var outputIndex: (w: Int, b: Int) { (output.weight.index, output.bias.index) }

    var inputVocabulary: Int { config.inputVocabulary(alphabet.count) }
    var oneHot: Bool { config.embedding == 0 }

    public init(config: CharLSTMConfig, alphabet: Alphabet, backend: any Backend) throws {
        try config.validateModel(alphabetSize: alphabet.count)
        self.config = config
        self.alphabet = alphabet
        self.backend = backend
        let v = alphabet.count, vin = config.inputVocabulary(v)
        let initialization = config.initialization
        func initializer(_ fanIn: Int, _ fanOut: Int) -> Initializer {
            switch initialization {
            // tf.truncated_normal(shape, -0.1, 0.1): mean −0.1, sd 0.1, redrawn beyond 2 sd.
            case .course: return .truncatedNormal(mean: -0.1, standardDeviation: 0.1)
            case .glorot: return .glorot(fanIn: fanIn, fanOut: fanOut)
            }
        }
        embedding = config.embedding > 0
            ? Embedding(store: store, name: "embedding", vocabulary: vin, width: config.embedding, dropout: config.dropout,
                        initializer: initializer(vin, config.embedding))
            : nil
        stack = LSTMStack(store: store, prefix: "lstm.", layers: config.layers, inputWidth: config.embedding > 0 ? config.embedding : vin,
                          hidden: config.hidden, oneHotInput: config.embedding == 0, dropout: config.dropout,
                          initializer: initializer)
        // The output layer is (H, V) for the full softmax, (V, H) — rows by class — for sampled softmax.
        output = SoftmaxOutput(store: store, prefix: "output.", inputWidth: config.hidden, classes: v,
                               sampled: config.sampled, initializer: initializer(config.hidden, v))
        try store.allocate(on: backend, stateCount: config.optimizer == .adam ? 2 : 0, seed: config.seed ^ 0x157A)
    }

    /// Number of trainable values.
    public var parameterCount: Int { store.count }

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
        let embedded: Embedding.Workspace?
        let lstm: LSTMStack.Workspace
        let output: SoftmaxOutput.Workspace
        /// The stack's output as the last forward pass returned it.
        var top: Tensor?

        var cells: [Tensor] { lstm.cells }
        var hiddens: [Tensor] { lstm.hiddens }
        var probabilities: Tensor { output.probabilities }

        init(model: CharLSTM, batch: Int, steps: Int, withGradients: Bool) throws {
            let be = model.backend, n = batch * steps
            self.batch = batch
            self.steps = steps
            self.withGradients = withGradients
            ownInputs = try be.zeros([n], dtype: .int32)
            ownLabels = try be.zeros([n], dtype: .int32)
            inputs = ownInputs
            labels = ownLabels
            embedded = try model.embedding?.workspace(rows: n, training: withGradients)
            lstm = try model.stack.workspace(batch: batch, steps: steps, training: withGradients,
                                             inputGradients: model.embedding != nil)
            output = try model.output.workspace(rows: n, training: withGradients, ownGradient: false)
        }
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
        guard let sampledIDs = ws.output.sampledIDs, let sq = ws.output.sampledLogQ, let lq = ws.output.labelLogQ else {
            throw LoomError.invalidArgument("this model trains with the full softmax (--sampled 0)")
        }
        try backend.upload(ids, to: sampledIDs)
        try backend.upload(sampledLogQ, to: sq)
        try backend.upload(labelLogQ, to: lq)
    }

    /// Zeroes the carried states (block 0) of `ws`.
    public func resetState(_ ws: Workspace) throws { try stack.resetState(ws.lstm) }

    /// Moves the final states of the segment (block T) into block 0 for the next segment.
    func carryState(_ ws: Workspace) throws { try stack.carryState(ws.lstm) }

    // MARK: Forward and backward

    /// The dropout stream of a site (0: embedding, 1 + l: output of layer l) at a training step.
    func dropoutStream(step: Int, site: Int) -> UInt64 { DropoutSite(seed: config.seed, step: step, site: site).stream }

    /// Forward pass over the segment in `ws` (ids already in `ws.inputs`/`ws.labels`): logits,
    /// softmax cross-entropy, and Σ loss added to the running total. Dropout only when `training`.
    /// With `computeLoss: false` (generation) the probabilities are a plain softmax.
    func forward(_ ws: Workspace, training: Bool, step: Int, computeLoss: Bool = true) throws {
        let n = ws.batch * ws.steps
        let site = training && config.dropout > 0 ? DropoutSite(seed: config.seed, step: step, site: 0) : nil
        let input: LSTMStack.Input
        if let embedding, let e = ws.embedded {
            input = .dense(try embedding.forward(e, ids: ws.inputs, dropout: site))
        } else {
            input = .ids(ws.inputs)
        }
        let top = try stack.forward(ws.lstm, input: input, dropout: site?.at(1))
        ws.top = top
        if !computeLoss {
            try output.predict(top, ws.output)
            return
        }
        try output.forward(top, labels: ws.labels, targets: n, ws.output, sampledTraining: training && config.sampled > 0)
    }

    /// Backpropagation through time over the segment; gradients land in the parameters' gradients.
    func backward(_ ws: Workspace, step: Int) throws {
        let n = ws.batch * ws.steps
        guard ws.withGradients, let top = ws.top, let gradOutputs = ws.lstm.gradOutputs else {
            throw LoomError.invalidArgument("backward needs a training workspace after a forward pass")
        }
        let site = config.dropout > 0 ? DropoutSite(seed: config.seed, step: step, site: 0) : nil
        try output.backward(top, labels: ws.labels, targets: n, ws.output, into: gradOutputs)
        let input: LSTMStack.Input
        if let e = ws.embedded {
            input = .dense(e.output(dropout: config.dropout > 0))
        } else {
            input = .ids(ws.inputs)
        }
        try stack.backward(ws.lstm, input: input, dropout: site?.at(1))
        if let embedding, let gradInputs = ws.lstm.gradInputs {
            try embedding.backward(gradInputs, ids: ws.inputs, dropout: site)
        }
    }

    /// L2, global-norm clipping and the optimiser step, all on the device, on the flat buffers.
    func update(_ ws: Workspace, step: Int) throws {
        let rule: UpdateRule
        switch config.optimizer {
        case .sgd: rule = .sgd(learningRate: config.learningRate(at: step))
        case .adam: rule = .adam(learningRate: config.learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: step + 1)
        }
        try store.update(rule, l2: config.l2, clip: config.clip)
    }

    /// One training step on the segment already in `ws`: forward, backward, update, carry the state.
    public func trainStep(_ ws: Workspace, step: Int) throws {
        try forward(ws, training: true, step: step)
        try backward(ws, step: step)
        try update(ws, step: step)
        try carryState(ws)
    }

    /// Mean loss per character since the last call on `ws` (one download), or nil.
    public func takeLoss(_ ws: Workspace) throws -> Double? { try output.takeLoss(ws.output) }

    // MARK: Checkpoints

    func save(into archive: inout TensorArchive) throws { try store.save(into: &archive) }

    func restore(from archive: TensorArchive) throws { try store.restore(from: archive) }
}
