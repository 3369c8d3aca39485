import Foundation
import LoomCore
import LoomLayers

/// An encoder–decoder LSTM with optional global attention, composed of the shared layers:
///
/// ```
/// source ids ─ Embedding ─ LSTMStack (encoder, variable lengths) ─┬─ final state ─┐
///                                                                  └─ outputs ─────┼─ Attention ─┐
/// <s> y₁ … yₙ ─ Embedding ─ LSTMStack (decoder, starts from the encoder's state) ──┘             │
///                                                               SoftmaxOutput (y₁ … yₙ </s>) ─────┘
/// ```
///
/// Without attention the softmax reads the decoder's outputs (Sutskever et al., 2014); with it,
/// Luong's attentional output `tanh(W_c c_t + W_h h_t)`. Teacher forcing in training; padding
/// targets are −1 and cost nothing. Every parameter lives in one `ParameterStore`.
public final class Seq2SeqModel {
    public let config: Seq2SeqConfig
    public let source: SequenceVocabulary
    public let target: SequenceVocabulary
    public let backend: any Backend
    public let store = ParameterStore()
    let sourceEmbedding: Embedding
    let targetEmbedding: Embedding
    let encoder: LSTMStack
    /// The backward encoder of a bidirectional model.
    let reverseEncoder: LSTMStack?
    let decoder: LSTMStack
    let attention: Attention?
    let output: SoftmaxOutput

    /// Dropout sites: source embedding 0, encoder layers 1…, reverse encoder 32…, target embedding
    /// 64, decoder 65….
    static let encoderSite = 1, reverseSite = 32, targetSite = 64, decoderSite = 65

    public init(config: Seq2SeqConfig, source: SequenceVocabulary, target: SequenceVocabulary,
                backend: any Backend) throws {
        try config.validate()
        try source.validateForModel("source")
        try target.validateForModel("target")
        self.config = config
        self.source = source
        self.target = target
        self.backend = backend
        let h = config.hidden, e = config.embedding
        func glorot(_ fanIn: Int, _ fanOut: Int) -> Initializer { .glorot(fanIn: fanIn, fanOut: fanOut) }
        sourceEmbedding = Embedding(store: store, name: "encoder.embedding", vocabulary: source.count, width: e,
                                    dropout: config.dropout, initializer: .truncatedNormal(mean: 0, standardDeviation: 0.1))
        encoder = LSTMStack(store: store, prefix: "encoder.", layers: config.layers, inputWidth: e, hidden: h,
                            dropout: config.dropout, initializer: glorot)
        reverseEncoder = config.bidirectional
            ? LSTMStack(store: store, prefix: "encoder.reverse.", layers: config.layers, inputWidth: e, hidden: h,
                        dropout: config.dropout, initializer: glorot)
            : nil
        targetEmbedding = Embedding(store: store, name: "decoder.embedding", vocabulary: target.count, width: e,
                                    dropout: config.dropout, initializer: .truncatedNormal(mean: 0, standardDeviation: 0.1))
        decoder = LSTMStack(store: store, prefix: "decoder.", layers: config.layers, inputWidth: e, hidden: h,
                            dropout: config.dropout, initializer: glorot)
        switch config.attention {
        case .none: attention = nil
        case .dot: attention = Attention(store: store, prefix: "attention.", score: .dot, width: h, initializer: glorot(h, h))
        case .general:
            attention = Attention(store: store, prefix: "attention.", score: .general, width: h, initializer: glorot(h, h))
        }
        output = SoftmaxOutput(store: store, prefix: "output.", inputWidth: h, classes: target.count,
                               initializer: glorot(h, target.count))
        try store.allocate(on: backend, stateCount: config.optimizer == .adam ? 2 : 0, seed: config.seed ^ 0x5E02)
    }

    public var parameterCount: Int { store.count }

    // MARK: Workspaces

    /// Every device buffer for a batch of `batch` pairs padded to `sourceSteps` and `targetSteps`.
    public final class Workspace {
        public let batch, sourceSteps, targetSteps: Int
        let training: Bool
        /// `(S·B)` source ids, time-major; `(B)` source lengths; `(T·B)` decoder inputs, time-major;
        /// `(T·B)` labels, batch-major with attention and time-major without (−1: padding).
        public let sourceIDs, sourceLengths, decoderInputs, labels: Tensor
        let sourceEmbedded, targetEmbedded: Embedding.Workspace
        let encoder, decoder: LSTMStack.Workspace
        /// Bidirectional: `(S·B)` the permutation that reverses each source within its length
        /// (its own inverse; padding stays), the reversed embeddings, the backward encoder, the
        /// realigned outputs and their sum with the forward ones, and gradient scratch.
        let reverseOrder: Tensor?
        let reversedInput: Tensor?
        let reverse: LSTMStack.Workspace?
        let reverseAligned, encoderSum, gradScratch: Tensor?
        let attention: Attention.Workspace?
        let output: SoftmaxOutput.Workspace
        /// Non-padding labels of the uploaded batch.
        var targets = 0
        var top: Tensor?
        var encoderOutputs: Tensor?
        /// The attention's encoder half (batch-major outputs, keys) is up to date.
        var attentionReady = false

        init(model m: Seq2SeqModel, batch: Int, sourceSteps: Int, targetSteps: Int, training: Bool) throws {
            let be = m.backend
            self.batch = batch
            self.sourceSteps = sourceSteps
            self.targetSteps = targetSteps
            self.training = training
            sourceIDs = try be.zeros([sourceSteps * batch], dtype: .int32)
            sourceLengths = try be.zeros([batch], dtype: .int32)
            decoderInputs = try be.zeros([targetSteps * batch], dtype: .int32)
            labels = try be.zeros([targetSteps * batch], dtype: .int32)
            sourceEmbedded = try m.sourceEmbedding.workspace(rows: sourceSteps * batch, training: training)
            targetEmbedded = try m.targetEmbedding.workspace(rows: targetSteps * batch, training: training)
            encoder = try m.encoder.workspace(batch: batch, steps: sourceSteps, training: training, inputGradients: true)
            encoder.lengths = sourceLengths
            if let r = m.reverseEncoder {
                let rows = sourceSteps * batch, h = m.config.hidden
                reverseOrder = try be.zeros([rows], dtype: .int32)
                reversedInput = try be.zeros([rows, m.config.embedding])
                reverse = try r.workspace(batch: batch, steps: sourceSteps, training: training, inputGradients: true)
                reverse!.lengths = sourceLengths
                reverseAligned = try be.zeros([rows, h])
                encoderSum = try be.zeros([rows, h])
                gradScratch = training ? try be.zeros([rows, max(h, m.config.embedding)]) : nil
            } else {
                reverseOrder = nil; reversedInput = nil; reverse = nil; reverseAligned = nil; encoderSum = nil; gradScratch = nil
            }
            decoder = try m.decoder.workspace(batch: batch, steps: targetSteps, training: training, inputGradients: true,
                                              initialStateGradients: true)
            attention = try m.attention?.workspace(batch: batch, sourceSteps: sourceSteps, targetSteps: targetSteps,
                                                   training: training)
            output = try m.output.workspace(rows: batch * targetSteps, training: training, ownGradient: false)
        }
    }

    public func workspace(batch: Int, sourceSteps: Int, targetSteps: Int, training: Bool) throws -> Workspace {
        try Workspace(model: self, batch: batch, sourceSteps: sourceSteps, targetSteps: targetSteps, training: training)
    }

    /// Uploads a batch: `sources[b]` and `targets[b]` are ids without specials; the workspace
    /// must be at least as long as the longest of each (plus one for `<s>` / `</s>`).
    ///
    /// `wordDropout` (rate, step): while training, each source symbol and each symbol fed to the
    /// decoder becomes `<unk>` with this probability (the labels stay), a pure function of the
    /// seed and the step (Sennrich and Zhang, 2019).
    public func upload(sources: [[Int32]], targets: [[Int32]], into ws: Workspace,
                       wordDropout: (rate: Float, step: Int)? = nil) throws {
        let b = ws.batch, s = ws.sourceSteps, t = ws.targetSteps
        precondition(sources.count == b && targets.count == b)
        var rng = SeededGenerator(seed: config.seed ^ (0xD1B5_4A32_D192_ED03 &* UInt64(wordDropout?.step ?? 0) &+ 0x5EED))
        func drop(_ id: Int32) -> Int32 {
            guard let w = wordDropout, id > SequenceVocabulary.end else { return id }
            return Float.random(in: 0..<1, using: &rng) < w.rate ? SequenceVocabulary.unknown : id
        }
        var src = [Int32](repeating: 0, count: s * b), lengths = [Int32](repeating: 0, count: b)
        var input = [Int32](repeating: SequenceVocabulary.end, count: t * b)
        var labels = [Int32](repeating: -1, count: t * b)
        var count = 0
        let batchMajor = attention != nil
        for k in 0..<b {
            let x = sources[k], y = targets[k]
            precondition(x.count <= s && y.count + 1 <= t, "sequence longer than its workspace")
            lengths[k] = Int32(x.count)
            for (i, id) in x.enumerated() { src[i * b + k] = drop(id) }
            let fed = [SequenceVocabulary.start] + y.map(drop), wanted = y + [SequenceVocabulary.end]
            for i in 0..<wanted.count {
                input[i * b + k] = fed[i]
                labels[batchMajor ? k * t + i : i * b + k] = wanted[i]
            }
            count += wanted.count
        }
        try backend.upload(src, to: ws.sourceIDs)
        try backend.upload(lengths, to: ws.sourceLengths)
        if let order = ws.reverseOrder {
            var index = [Int32](repeating: 0, count: s * b)
            for k in 0..<b {
                let n = Int(lengths[k])
                for t in 0..<s { index[t * b + k] = Int32((t < n ? n - 1 - t : t) * b + k) }
            }
            try backend.upload(index, to: order)
        }
        try backend.upload(input, to: ws.decoderInputs)
        try backend.upload(labels, to: ws.labels)
        ws.targets = count
    }

    // MARK: Forward and backward

    func site(_ step: Int, _ s: Int, training: Bool) -> DropoutSite? {
        training && config.dropout > 0 ? DropoutSite(seed: config.seed, step: step, site: s) : nil
    }

    /// Encodes the uploaded sources and sets the decoder's initial state to the encoder's final one.
    func encode(_ ws: Workspace, training: Bool, step: Int) throws {
        let embedded = try sourceEmbedding.forward(ws.sourceEmbedded, ids: ws.sourceIDs, dropout: site(step, 0, training: training))
        try encoder.resetState(ws.encoder)
        ws.encoderOutputs = try encoder.forward(ws.encoder, input: .dense(embedded),
                                                dropout: site(step, Self.encoderSite, training: training))
        ws.attentionReady = false
        if let reverseEncoder, let r = ws.reverse, let order = ws.reverseOrder {
            // Each source backwards (within its length), then its outputs back in source order.
            try backend.gather(embedded, indices: order, into: ws.reversedInput!)
            try reverseEncoder.resetState(r)
            let out = try reverseEncoder.forward(r, input: .dense(ws.reversedInput!),
                                                 dropout: site(step, Self.reverseSite, training: training))
            try backend.gather(out, indices: order, into: ws.reverseAligned!)
            try backend.add(ws.encoderOutputs!, ws.reverseAligned!, into: ws.encoderSum!)
            ws.encoderOutputs = ws.encoderSum
            for l in 0..<config.layers {
                try backend.add(ws.encoder.finalCell(l), r.finalCell(l), into: ws.decoder.initialCell(l))
                try backend.add(ws.encoder.finalHidden(l), r.finalHidden(l), into: ws.decoder.initialHidden(l))
            }
            return
        }
        for l in 0..<config.layers {
            try backend.copy(ws.encoder.finalCell(l), to: ws.decoder.initialCell(l))
            try backend.copy(ws.encoder.finalHidden(l), to: ws.decoder.initialHidden(l))
        }
    }

    /// Runs the decoder over the uploaded inputs from its current initial state; returns what
    /// the softmax reads (`(B·T, H)` batch-major with attention, `(T·B, H)` time-major without).
    func decode(_ ws: Workspace, training: Bool, step: Int) throws -> Tensor {
        let embedded = try targetEmbedding.forward(ws.targetEmbedded, ids: ws.decoderInputs,
                                                   dropout: site(step, Self.targetSite, training: training))
        let out = try decoder.forward(ws.decoder, input: .dense(embedded), dropout: site(step, Self.decoderSite, training: training))
        guard let attention, let att = ws.attention else { return out }
        defer { ws.attentionReady = true }
        return try attention.forward(att, encoderOutputs: ws.encoderOutputs!, sourceLengths: ws.sourceLengths,
                                     decoderOutputs: out, encoderReady: ws.attentionReady)
    }

    /// Teacher-forced loss of the uploaded batch, added to the running total.
    public func forward(_ ws: Workspace, training: Bool, step: Int) throws {
        try encode(ws, training: training, step: step)
        let top = try decode(ws, training: training, step: step)
        ws.top = top
        try output.forward(top, labels: ws.labels, targets: ws.targets, ws.output)
    }

    /// Gradients of the mean loss of the last `forward` over every parameter.
    public func backward(_ ws: Workspace, step: Int) throws {
        guard ws.training, let top = ws.top, let gradDecoder = ws.decoder.gradOutputs,
              let gradEncoder = ws.encoder.gradOutputs else {
            throw LoomError.invalidArgument("backward needs a training workspace after a forward pass")
        }
        if let attention, let att = ws.attention {
            try output.backward(top, labels: ws.labels, targets: ws.targets, ws.output, into: att.gradOutput!)
            try attention.backward(att, gradDecoderOutputs: gradDecoder, gradEncoderOutputs: gradEncoder)
        } else {
            try output.backward(top, labels: ws.labels, targets: ws.targets, ws.output, into: gradDecoder)
            try backend.fill(gradEncoder, value: 0)
        }
        let dropping = config.dropout > 0
        try decoder.backward(ws.decoder, input: .dense(ws.targetEmbedded.output(dropout: dropping)),
                             dropout: site(step, Self.decoderSite, training: true))
        try targetEmbedding.backward(ws.decoder.gradInputs!, ids: ws.decoderInputs,
                                     dropout: site(step, Self.targetSite, training: true))
        let final = (0..<config.layers).map { (cell: ws.decoder.gradInitialCells[$0], hidden: ws.decoder.gradInitialHiddens[$0]) }
        if let reverseEncoder, let r = ws.reverse, let order = ws.reverseOrder {
            // The sum passes its gradient to both encoders; the permutation is its own inverse.
            try backend.gather(gradEncoder, indices: order, into: r.gradOutputs!)
            try reverseEncoder.backward(r, input: .dense(ws.reversedInput!), dropout: site(step, Self.reverseSite, training: true),
                                        finalState: final)
        }
        try encoder.backward(ws.encoder, input: .dense(ws.sourceEmbedded.output(dropout: dropping)),
                             dropout: site(step, Self.encoderSite, training: true), finalState: final)
        let gradEmbedded = ws.encoder.gradInputs!
        if let r = ws.reverse, let order = ws.reverseOrder, let scratch = ws.gradScratch {
            let back = scratch.reshaped([scratch.count]).elements(0, count: gradEmbedded.count).reshaped(gradEmbedded.shape)
            try backend.gather(r.gradInputs!, indices: order, into: back)
            try backend.axpy(alpha: 1, back, gradEmbedded)
        }
        try sourceEmbedding.backward(gradEmbedded, ids: ws.sourceIDs, dropout: site(step, 0, training: true))
    }

    /// One training step on the uploaded batch: forward, backward, L2, clipping, update.
    public func trainStep(_ ws: Workspace, step: Int) throws {
        try forward(ws, training: true, step: step)
        try backward(ws, step: step)
        try store.update(config.rule(at: step), l2: config.l2, clip: config.clip)
    }

    /// Mean loss per target symbol since the last call on `ws` (one download), or nil.
    public func takeLoss(_ ws: Workspace) throws -> Double? { try output.takeLoss(ws.output) }

    // MARK: Step-by-step decoding

    /// One decoder step for every row of `ws` (a workspace of `targetSteps` 1): feeds `symbols`,
    /// advances the state, and returns the next-symbol probabilities `(B, V)` on the device.
    func step(_ ws: Workspace, symbols: [Int32]) throws -> Tensor {
        try backend.upload(symbols, to: ws.decoderInputs)
        let top = try decode(ws, training: false, step: 0)
        try output.predict(top, ws.output)
        try decoder.carryState(ws.decoder)
        return ws.output.probabilities
    }

    /// Reorders the decoder state rows of `ws`: row `k` takes row `parents[k]`'s state.
    /// - Parameters: parents `(B)` int32 on the device; scratch `(B, H)`.
    func reorder(_ ws: Workspace, parents index: Tensor, scratch: Tensor) throws {
        try decoder.reorderState(ws.decoder, parents: index, scratch: scratch)
    }
}
