import Foundation
import LoomCore
import LoomImages
import LoomLayers
import LoomSeq2Seq

/// Everything that defines a captioning run; saved in checkpoints.
public struct CaptionConfig: Codable, Equatable, Sendable {
    /// Images are resized to `imageSize × imageSize` grey.
    public var imageSize = 56
    /// Filters of each conv 3×3 → ReLU → max-pool 2×2 block.
    public var channels = [32, 64, 64]
    public var hidden = 256
    public var embedding = 64
    public var layers = 1
    public var batchSize = 64
    public var steps = 3_000
    public var optimizer: Seq2SeqConfig.Optimizer = .adam
    public var learningRate: Float = 0.002
    /// The rate is multiplied by `decay` every `decayEvery` steps (0: never).
    public var decay: Float = 0.5
    public var decayEvery = 0
    public var clip: Float = 5
    /// Dropout on the word embeddings and the decoder's outputs while training.
    public var dropout: Float = 0
    /// Dropout on the flattened CNN features before the initial-state layers while training.
    public var featureDropout: Float = 0
    public var l2: Float = 0
    /// Longest caption, in words.
    public var maxLength = 40
    public var seed: UInt64 = 1

    public init() {}

    enum CodingKeys: String, CodingKey {
        case imageSize, channels, hidden, embedding, layers, batchSize, steps, optimizer, learningRate, decay, decayEvery
        case clip, dropout, featureDropout, l2, maxLength, seed
    }

    /// Reads checkpoints written before `featureDropout` existed (as 0).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        imageSize = try c.decode(Int.self, forKey: .imageSize)
        channels = try c.decode([Int].self, forKey: .channels)
        hidden = try c.decode(Int.self, forKey: .hidden)
        embedding = try c.decode(Int.self, forKey: .embedding)
        layers = try c.decode(Int.self, forKey: .layers)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        steps = try c.decode(Int.self, forKey: .steps)
        optimizer = try c.decode(Seq2SeqConfig.Optimizer.self, forKey: .optimizer)
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        decay = try c.decode(Float.self, forKey: .decay)
        decayEvery = try c.decode(Int.self, forKey: .decayEvery)
        clip = try c.decode(Float.self, forKey: .clip)
        dropout = try c.decode(Float.self, forKey: .dropout)
        featureDropout = try c.decodeIfPresent(Float.self, forKey: .featureDropout) ?? 0
        l2 = try c.decode(Float.self, forKey: .l2)
        maxLength = try c.decode(Int.self, forKey: .maxLength)
        seed = try c.decode(UInt64.self, forKey: .seed)
    }

    public func validate() throws {
        func bad(_ m: String) -> LoomError { .invalidArgument(m) }
        if channels.isEmpty || channels.count > 8 || channels.contains(where: { $0 < 1 || $0 > 4096 }) {
            throw bad("--channels must list one to eight filter counts from 1 to 4096, e.g. 32,64,64")
        }
        // Upper bounds too: a model built from a damaged checkpoint's configuration is checked here.
        if imageSize > 4096 { throw bad("--size must be at most 4096") }
        if layers > 64 || hidden > 1 << 16 || embedding > 1 << 16 || batchSize > 1 << 20 {
            throw bad("--layers (at most 64), --hidden, --embedding (at most 65536) or --batch-size (at most 1048576) is too large")
        }
        if featureWidth > 1 << 24 { throw bad("the last feature map (\(featureWidth) values) is too large; add a pooling block or fewer filters") }
        if imageSize < 1 << channels.count {
            throw bad("--size \(imageSize) is too small for \(channels.count) pooling blocks (at least \(1 << channels.count))")
        }
        if layers < 1 || hidden < 1 || embedding < 1 || batchSize < 1 { throw bad("--layers, --hidden, --embedding and --batch-size must be positive") }
        if steps < 0 { throw bad("--steps must not be negative") }
        if !(dropout >= 0 && dropout < 1) { throw bad("--dropout must be in [0, 1)") }
        if !(featureDropout >= 0 && featureDropout < 1) { throw bad("--feature-dropout must be in [0, 1)") }
        if l2 < 0 || clip < 0 { throw bad("--l2 and --clip must not be negative") }
        if !(learningRate > 0) { throw bad("--lr must be positive") }
        if !(decay > 0 && decay <= 1) { throw bad("--decay must be in (0, 1]") }
        if decayEvery < 0 { throw bad("--decay-every must not be negative") }
        if maxLength < 1 || maxLength > 1 << 16 { throw bad("--max-length must be from 1 to 65536") }
    }

    public func rule(at step: Int) -> UpdateRule {
        let lr = decayEvery > 0 ? learningRate * pow(decay, Float(step / decayEvery)) : learningRate
        switch optimizer {
        case .sgd: return .sgd(learningRate: lr)
        case .adam: return .adam(learningRate: lr, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: step + 1)
        }
    }

    /// Side of the last feature map.
    public var featureSide: Int { imageSize >> channels.count }
    /// Width of the flattened last feature map, `side² · channels.last`.
    public var featureWidth: Int { featureSide * featureSide * channels.last! }
}

/// Show and Tell (Vinyals et al., 2015) on the shared layers: a small CNN reads the image, a
/// dense layer turns its features into the decoder's initial state, and an LSTM writes the
/// caption word by word.
///
/// ```
/// image (N, S, S, 1) ─ [Conv2D 3×3 ─ MaxPool 2×2 ─ ReLU] × blocks ─ flatten (N, F) ─ dropout
///     ├─ tanh(F·W_h + b_h) ─ h₀ ─┐
///     └─ F·W_c + b_c ─────── c₀ ─┤
/// <s> w₁ … wₙ ─ Embedding ─ LSTMStack ─ SoftmaxOutput (w₁ … wₙ </s>)
/// ```
/// Every layer of the decoder starts from its own h₀, c₀. Teacher forcing in training; padding
/// labels are −1. ReLU runs after the pooling: the maximum commutes with it, so the result (and
/// its gradient) is that of conv → ReLU → pool on a quarter of the elements.
public final class CaptionModel {
    public let config: CaptionConfig
    public let vocabulary: SequenceVocabulary
    public let backend: any Backend
    public let store = ParameterStore()
    let convs: [Conv2D]
    let pool = MaxPool2D(window: 2)
    let initial: [(hw: ParameterStore.ID, hb: ParameterStore.ID, cw: ParameterStore.ID, cb: ParameterStore.ID)]
    let embedding: Embedding
    let decoder: LSTMStack
    let output: SoftmaxOutput
    static let embeddingSite = 0, decoderSite = 1, featureSite = 2

    public init(config: CaptionConfig, vocabulary: SequenceVocabulary, backend: any Backend) throws {
        try config.validate()
        try vocabulary.validateForModel("caption")
        self.config = config
        self.vocabulary = vocabulary
        self.backend = backend
        let store = self.store
        var c = 1
        convs = config.channels.enumerated().map { i, f in
            defer { c = f }
            return Conv2D(store: store, prefix: "encoder.conv\(i).", inputChannels: c, filters: f, kernel: 3)
        }
        let f = config.featureWidth, h = config.hidden
        initial = (0..<config.layers).map { l in
            (hw: store.register("encoder.init\(l).hidden.weight", shape: [f, h], initializer: .glorot(fanIn: f, fanOut: h), decays: true),
             hb: store.register("encoder.init\(l).hidden.bias", shape: [h], initializer: .zeros, decays: false),
             cw: store.register("encoder.init\(l).cell.weight", shape: [f, h], initializer: .glorot(fanIn: f, fanOut: h), decays: true),
             cb: store.register("encoder.init\(l).cell.bias", shape: [h], initializer: .zeros, decays: false))
        }
        embedding = Embedding(store: store, name: "decoder.embedding", vocabulary: vocabulary.count, width: config.embedding,
                              dropout: config.dropout, initializer: .truncatedNormal(mean: 0, standardDeviation: 0.1))
        decoder = LSTMStack(store: store, prefix: "decoder.", layers: config.layers, inputWidth: config.embedding, hidden: h,
                            dropout: config.dropout) { .glorot(fanIn: $0, fanOut: $1) }
        output = SoftmaxOutput(store: store, prefix: "output.", inputWidth: h, classes: vocabulary.count,
                               initializer: .glorot(fanIn: h, fanOut: vocabulary.count))
        try store.allocate(on: backend, stateCount: config.optimizer == .adam ? 2 : 0, seed: config.seed ^ 0xCA97)
    }

    public var parameterCount: Int { store.count }

    // MARK: Workspaces

    /// Every device buffer for `batch` images and captions of up to `steps − 1` words.
    public final class Workspace {
        public let batch, steps: Int
        let training: Bool
        /// `(N, S, S, 1)` pixels in [0, 1]; `(T·B)` decoder inputs and labels, time-major.
        public let images, decoderInputs, labels: Tensor
        let convs: [Conv2D.Workspace]
        let pools: [MaxPool2D.Workspace]
        /// `(N, F)` the last feature map, flattened (a view of the last pool's output), and after
        /// dropout (training with feature dropout).
        let features: Tensor
        let droppedFeatures: Tensor?
        /// `(N, H)` the initial hidden state's preactivation per layer; training scratch for its
        /// gradient and `(N, F)` the features' gradient.
        let hiddenPre: [Tensor]
        let gradPre, gradFeatures: Tensor?
        let embedded: Embedding.Workspace
        let decoder: LSTMStack.Workspace
        let output: SoftmaxOutput.Workspace
        var targets = 0
        var top: Tensor?

        init(model m: CaptionModel, batch: Int, steps: Int, training: Bool) throws {
            let be = m.backend, c = m.config
            self.batch = batch
            self.steps = steps
            self.training = training
            images = try be.zeros([batch, c.imageSize, c.imageSize, 1])
            decoderInputs = try be.zeros([steps * batch], dtype: .int32)
            labels = try be.zeros([steps * batch], dtype: .int32)
            var side = c.imageSize
            var convs: [Conv2D.Workspace] = [], pools: [MaxPool2D.Workspace] = []
            for (i, conv) in m.convs.enumerated() {
                convs.append(try conv.workspace(batch: batch, height: side, width: side, training: training, inputGradient: i > 0))
                pools.append(try m.pool.workspace(batch: batch, height: side, width: side, channels: conv.filters,
                                                  training: training, backend: be))
                side /= 2
            }
            self.convs = convs
            self.pools = pools
            features = pools.last!.output.reshaped([batch, c.featureWidth])
            droppedFeatures = training && c.featureDropout > 0 ? try be.zeros([batch, c.featureWidth]) : nil
            hiddenPre = try (0..<c.layers).map { _ in try be.zeros([batch, c.hidden]) }
            gradPre = training ? try be.zeros([batch, c.hidden]) : nil
            gradFeatures = training ? try be.zeros([batch, c.featureWidth]) : nil
            embedded = try m.embedding.workspace(rows: steps * batch, training: training)
            decoder = try m.decoder.workspace(batch: batch, steps: steps, training: training, inputGradients: true,
                                              initialStateGradients: true)
            output = try m.output.workspace(rows: steps * batch, training: training, ownGradient: false)
        }
    }

    public func workspace(batch: Int, steps: Int, training: Bool) throws -> Workspace {
        try Workspace(model: self, batch: batch, steps: steps, training: training)
    }

    /// `N·S·S` pixels in [0, 1] of `images` (each already `S × S`).
    public func pixels(_ images: [GrayImage]) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(images.count * config.imageSize * config.imageSize)
        for image in images {
            precondition(image.width == config.imageSize && image.height == config.imageSize, "images must be resized first")
            out += image.pixels.map { Float($0) * (1 / 255) }
        }
        return out
    }

    /// Uploads a batch: `images` and `captions[b]` as ids without specials (none when decoding:
    /// `captions` nil).
    public func upload(images: [GrayImage], captions: [[Int32]]?, into ws: Workspace) throws {
        let b = ws.batch, t = ws.steps
        precondition(images.count == b && (captions?.count ?? b) == b)
        try backend.upload(pixels(images), to: ws.images)
        var input = [Int32](repeating: SequenceVocabulary.end, count: t * b), labels = [Int32](repeating: -1, count: t * b)
        var count = 0
        for (k, y) in (captions ?? []).enumerated() {
            precondition(y.count + 1 <= t, "caption longer than its workspace")
            let fed = [SequenceVocabulary.start] + y, wanted = y + [SequenceVocabulary.end]
            for i in 0..<wanted.count {
                input[i * b + k] = fed[i]
                labels[i * b + k] = wanted[i]
            }
            count += wanted.count
        }
        try backend.upload(input, to: ws.decoderInputs)
        try backend.upload(labels, to: ws.labels)
        ws.targets = count
    }

    // MARK: Forward and backward

    func site(_ step: Int, _ s: Int, training: Bool) -> DropoutSite? {
        training && config.dropout > 0 ? DropoutSite(seed: config.seed, step: step, site: s) : nil
    }

    /// The features the initial-state layers read: after dropout when training with it.
    func features(_ ws: Workspace, training: Bool) -> Tensor { training ? ws.droppedFeatures ?? ws.features : ws.features }

    func featureSite(_ step: Int) -> DropoutSite { DropoutSite(seed: config.seed, step: step, site: Self.featureSite) }

    /// Runs the CNN on the uploaded images and sets every decoder layer's initial state.
    func encode(_ ws: Workspace, training: Bool, step: Int) throws {
        var x = ws.images
        for (i, conv) in convs.enumerated() {
            let y = try conv.forward(ws.convs[i], input: x)
            x = try pool.forward(ws.pools[i], input: y, backend: backend)
            try backend.relu(x, into: x)
        }
        if training, let dropped = ws.droppedFeatures {
            let s = featureSite(step)
            try backend.dropout(ws.features, into: dropped, keepProbability: 1 - config.featureDropout, seed: s.seed, stream: s.stream)
        }
        let features = features(ws, training: training)
        for (l, p) in initial.enumerated() {
            try backend.gemm(features, store[p.hw].value, into: ws.hiddenPre[l], transposeA: false, transposeB: false, alpha: 1, beta: 0)
            try backend.addRowVector(store[p.hb].value, to: ws.hiddenPre[l])
            try backend.tanh(ws.hiddenPre[l], into: ws.decoder.initialHidden(l))
            let cell = ws.decoder.initialCell(l)
            try backend.gemm(features, store[p.cw].value, into: cell, transposeA: false, transposeB: false, alpha: 1, beta: 0)
            try backend.addRowVector(store[p.cb].value, to: cell)
        }
    }

    func decode(_ ws: Workspace, training: Bool, step: Int) throws -> Tensor {
        let embedded = try embedding.forward(ws.embedded, ids: ws.decoderInputs, dropout: site(step, Self.embeddingSite, training: training))
        return try decoder.forward(ws.decoder, input: .dense(embedded), dropout: site(step, Self.decoderSite, training: training))
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
        guard ws.training, let top = ws.top, let gradTop = ws.decoder.gradOutputs, let gradPre = ws.gradPre,
              let gradFeatures = ws.gradFeatures else {
            throw LoomError.invalidArgument("backward needs a training workspace after a forward pass")
        }
        let be = backend
        try output.backward(top, labels: ws.labels, targets: ws.targets, ws.output, into: gradTop)
        try decoder.backward(ws.decoder, input: .dense(ws.embedded.output(dropout: config.dropout > 0)),
                             dropout: site(step, Self.decoderSite, training: true))
        try embedding.backward(ws.decoder.gradInputs!, ids: ws.decoderInputs, dropout: site(step, Self.embeddingSite, training: true))
        // The initial states' gradients back into the dense layers and the features.
        let features = features(ws, training: true)
        for (l, p) in initial.enumerated() {
            try be.tanhBackward(output: ws.decoder.initialHidden(l), gradOutput: ws.decoder.gradInitialHiddens[l], into: gradPre)
            try be.gemm(features, gradPre, into: store[p.hw].gradient, transposeA: true, transposeB: false, alpha: 1, beta: 0)
            try be.sumRows(gradPre, into: store[p.hb].gradient, accumulate: false)
            try be.gemm(gradPre, store[p.hw].value, into: gradFeatures, transposeA: false, transposeB: true, alpha: 1, beta: l == 0 ? 0 : 1)
            let gradCell = ws.decoder.gradInitialCells[l]
            try be.gemm(features, gradCell, into: store[p.cw].gradient, transposeA: true, transposeB: false, alpha: 1, beta: 0)
            try be.sumRows(gradCell, into: store[p.cb].gradient, accumulate: false)
            try be.gemm(gradCell, store[p.cw].value, into: gradFeatures, transposeA: false, transposeB: true, alpha: 1, beta: 1)
        }
        if ws.droppedFeatures != nil {
            let s = featureSite(step)
            try be.dropoutBackward(gradFeatures, into: gradFeatures, keepProbability: 1 - config.featureDropout, seed: s.seed, stream: s.stream)
        }
        // And down the CNN.
        var grad = gradFeatures
        for i in stride(from: convs.count - 1, through: 0, by: -1) {
            let pw = ws.pools[i], cw = ws.convs[i]
            let pooled = grad.reshaped(pw.output.shape)
            try be.reluBackward(output: pw.output, gradOutput: pooled, into: pooled)
            try pool.backward(pw, gradOutput: pooled, backend: be)
            let g = pw.gradInput!.reshaped(cw.output.shape)
            try convs[i].backward(cw, gradOutput: g)
            if let gi = cw.gradInput { grad = gi }
        }
    }

    /// One training step on the uploaded batch: forward, backward, L2, clipping, update.
    public func trainStep(_ ws: Workspace, step: Int) throws {
        try forward(ws, training: true, step: step)
        try backward(ws, step: step)
        try store.update(config.rule(at: step), l2: config.l2, clip: config.clip)
    }

    public func takeLoss(_ ws: Workspace) throws -> Double? { try output.takeLoss(ws.output) }

    // MARK: Step-by-step decoding

    /// Encodes the uploaded images of a one-step workspace (the decoder starts from them).
    public func start(_ ws: Workspace) throws { try encode(ws, training: false, step: 0) }

    /// Feeds `symbols` to every row, advances the state, and returns the next-word probabilities `(B, V)`.
    public func step(_ ws: Workspace, symbols: [Int32]) throws -> Tensor {
        try backend.upload(symbols, to: ws.decoderInputs)
        let top = try decode(ws, training: false, step: 0)
        try output.predict(top, ws.output)
        try decoder.carryState(ws.decoder)
        return ws.output.probabilities
    }

    /// Row `k` of the decoder state takes row `parents[k]`'s (beam search).
    func reorder(_ ws: Workspace, parents index: Tensor, scratch: Tensor) throws {
        try decoder.reorderState(ws.decoder, parents: index, scratch: scratch)
    }
}
