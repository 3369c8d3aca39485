import LoomCore

/// Global attention (Luong, Pham & Manning, 2015) of a decoder over an encoder's outputs, as a
/// composition of backend ops: for each decoder output `h_t`, scores `s_tj = h_t · k_j` against
/// keys `k_j = e_j` (`dot`) or `k_j = W_a e_j` (`general`), a softmax over the source positions
/// that exist (`maskedSoftmax`), the context `c_t = Σ_j a_tj e_j`, and the attentional output
/// `h̃_t = tanh(W_c c_t + W_h h_t)` that feeds the softmax layer.
///
/// Inputs are time-major (row `t·B + b`), as the LSTM stack writes them; the layer works
/// batch-major inside (row `b·T + t`) so the scores and contexts are batched GEMMs, and its
/// output `h̃` is batch-major: the caller's labels must be in that order.
public final class Attention {
    public enum Score: String, Codable, Sendable, CaseIterable {
        /// `h_t · e_j`.
        case dot
        /// `h_t · W_a e_j`.
        case general
    }

    public let score: Score
    public let width: Int
    let store: ParameterStore
    let keyWeight: ParameterStore.ID?
    let contextWeight: ParameterStore.ID
    let hiddenWeight: ParameterStore.ID

    /// Registers `prefix + "score.weight"` (general), `"context.weight"` and `"hidden.weight"`, all `(H, H)`.
    public init(store: ParameterStore, prefix: String, score: Score, width: Int, initializer: Initializer) {
        self.score = score
        self.width = width
        self.store = store
        keyWeight = score == .general
            ? store.register(prefix + "score.weight", shape: [width, width], initializer: initializer, decays: true) : nil
        contextWeight = store.register(prefix + "context.weight", shape: [width, width], initializer: initializer, decays: true)
        hiddenWeight = store.register(prefix + "hidden.weight", shape: [width, width], initializer: initializer, decays: true)
    }

    var backend: any Backend { store.backend! }

    /// Buffers for `batch` pairs of `sourceSteps` encoder and `targetSteps` decoder positions.
    public final class Workspace {
        public let batch, sourceSteps, targetSteps: Int
        /// Gather indices from time-major to batch-major rows, source and target.
        let sourceOrder, targetOrder: Tensor
        let encoder, keys, decoder: Tensor      // (B·S, H), (B·S, H), (B·T, H) batch-major
        /// `(B·T, S)` attention weights.
        public let weights: Tensor
        let scores: Tensor
        let context: Tensor                     // (B·T, H)
        /// `(B·T, H)` the attentional output `h̃`, batch-major.
        public let output: Tensor
        // Backward.
        /// `(B·T, H)` in: the gradient w.r.t. `output`; overwritten.
        public let gradOutput: Tensor?
        let gradContext, gradDecoder, gradEncoder, gradKeys, gradWeights: Tensor?

        init(layer: Attention, batch: Int, sourceSteps: Int, targetSteps: Int, training: Bool) throws {
            let be = layer.backend, h = layer.width, bs = batch * sourceSteps, bt = batch * targetSteps
            self.batch = batch
            self.sourceSteps = sourceSteps
            self.targetSteps = targetSteps
            func order(_ steps: Int) -> [Int32] {
                var index: [Int32] = []
                index.reserveCapacity(batch * steps)
                for b in 0..<batch { for t in 0..<steps { index.append(Int32(t * batch + b)) } }
                return index
            }
            sourceOrder = try be.tensor(order(sourceSteps))
            targetOrder = try be.tensor(order(targetSteps))
            encoder = try be.zeros([bs, h])
            keys = layer.score == .general ? try be.zeros([bs, h]) : encoder
            decoder = try be.zeros([bt, h])
            weights = try be.zeros([bt, sourceSteps])
            scores = try be.zeros([bt, sourceSteps])
            context = try be.zeros([bt, h])
            output = try be.zeros([bt, h])
            if training {
                gradOutput = try be.zeros([bt, h])
                gradContext = try be.zeros([bt, h])
                gradDecoder = try be.zeros([bt, h])
                gradEncoder = try be.zeros([bs, h])
                gradKeys = layer.score == .general ? try be.zeros([bs, h]) : nil
                gradWeights = try be.zeros([bt, sourceSteps])
            } else {
                gradOutput = nil; gradContext = nil; gradDecoder = nil; gradEncoder = nil; gradKeys = nil; gradWeights = nil
            }
        }
    }

    public func workspace(batch: Int, sourceSteps: Int, targetSteps: Int, training: Bool) throws -> Workspace {
        try Workspace(layer: self, batch: batch, sourceSteps: sourceSteps, targetSteps: targetSteps, training: training)
    }

    /// `h̃` `(B·T, H)` batch-major (in `ws.output`).
    /// - Parameters:
    ///   - encoderOutputs: `(S·B, H)` time-major.
    ///   - sourceLengths: `(B)` int32: positions `≥ length` of a source take no attention.
    ///   - decoderOutputs: `(T·B, H)` time-major.
    ///   - encoderReady: the encoder's part (`encoder`, `keys`) is already in `ws` from an earlier
    ///     call with the same encoder outputs (step-by-step decoding).
    @discardableResult
    public func forward(_ ws: Workspace, encoderOutputs: Tensor, sourceLengths: Tensor, decoderOutputs: Tensor,
                        encoderReady: Bool = false) throws -> Tensor {
        let be = backend, b = ws.batch, s = ws.sourceSteps, t = ws.targetSteps, h = width
        if !encoderReady {
            try be.gather(encoderOutputs, indices: ws.sourceOrder, into: ws.encoder)
            if let wa = keyWeight {
                try be.gemm(ws.encoder, store[wa].value, into: ws.keys, transposeA: false, transposeB: false, alpha: 1, beta: 0)
            }
        }
        try be.gather(decoderOutputs, indices: ws.targetOrder, into: ws.decoder)
        try be.batchedGemm(ws.decoder.reshaped([b, t, h]), ws.keys.reshaped([b, s, h]),
                           into: ws.scores.reshaped([b, t, s]), transposeA: false, transposeB: true, alpha: 1, beta: 0)
        try be.maskedSoftmax(ws.scores, lengths: sourceLengths, rowsPerLength: t, into: ws.weights)
        try be.batchedGemm(ws.weights.reshaped([b, t, s]), ws.encoder.reshaped([b, s, h]),
                           into: ws.context.reshaped([b, t, h]), transposeA: false, transposeB: false, alpha: 1, beta: 0)
        try be.gemm(ws.context, store[contextWeight].value, into: ws.output,
                    transposeA: false, transposeB: false, alpha: 1, beta: 0)
        try be.gemm(ws.decoder, store[hiddenWeight].value, into: ws.output, transposeA: false, transposeB: false,
                    alpha: 1, beta: 1)
        try be.tanh(ws.output, into: ws.output)
        return ws.output
    }

    /// Backward of `forward`: reads `ws.gradOutput`, writes the layer's parameter gradients
    /// (overwriting) and the gradients w.r.t. the decoder's and the encoder's outputs, time-major,
    /// into `gradDecoderOutputs` `(T·B, H)` and `gradEncoderOutputs` `(S·B, H)` (overwritten).
    public func backward(_ ws: Workspace, gradDecoderOutputs: Tensor, gradEncoderOutputs: Tensor) throws {
        let be = backend, b = ws.batch, s = ws.sourceSteps, t = ws.targetSteps, h = width
        guard let gradOutput = ws.gradOutput, let gradContext = ws.gradContext, let gradDecoder = ws.gradDecoder,
              let gradEncoder = ws.gradEncoder, let gradWeights = ws.gradWeights else {
            throw LoomError.invalidArgument("Attention.backward needs a training workspace")
        }
        // Through the tanh, then the two projections.
        try be.tanhBackward(output: ws.output, gradOutput: gradOutput, into: gradOutput)
        try be.gemm(ws.context, gradOutput, into: store[contextWeight].gradient, transposeA: true, transposeB: false,
                    alpha: 1, beta: 0)
        try be.gemm(ws.decoder, gradOutput, into: store[hiddenWeight].gradient, transposeA: true, transposeB: false,
                    alpha: 1, beta: 0)
        try be.gemm(gradOutput, store[contextWeight].value, into: gradContext, transposeA: false, transposeB: true,
                    alpha: 1, beta: 0)
        try be.gemm(gradOutput, store[hiddenWeight].value, into: gradDecoder, transposeA: false, transposeB: true,
                    alpha: 1, beta: 0)
        // Context = A · E: dA = dC · Eᵀ, dE = Aᵀ · dC.
        try be.batchedGemm(gradContext.reshaped([b, t, h]), ws.encoder.reshaped([b, s, h]),
                           into: gradWeights.reshaped([b, t, s]), transposeA: false, transposeB: true, alpha: 1, beta: 0)
        try be.batchedGemm(ws.weights.reshaped([b, t, s]), gradContext.reshaped([b, t, h]),
                           into: gradEncoder.reshaped([b, s, h]), transposeA: true, transposeB: false, alpha: 1, beta: 0)
        // Through the softmax (masked positions have weight 0, so their score gradient is 0).
        try be.softmaxBackward(output: ws.weights, gradOutput: gradWeights, into: ws.scores)
        // Scores = D · Kᵀ: dD += dS · K, dK = dSᵀ · D.
        try be.batchedGemm(ws.scores.reshaped([b, t, s]), ws.keys.reshaped([b, s, h]),
                           into: gradDecoder.reshaped([b, t, h]), transposeA: false, transposeB: false, alpha: 1, beta: 1)
        if let wa = keyWeight, let gradKeys = ws.gradKeys {
            try be.batchedGemm(ws.scores.reshaped([b, t, s]), ws.decoder.reshaped([b, t, h]),
                               into: gradKeys.reshaped([b, s, h]), transposeA: true, transposeB: false, alpha: 1, beta: 0)
            try be.gemm(ws.encoder, gradKeys, into: store[wa].gradient, transposeA: true, transposeB: false, alpha: 1, beta: 0)
            try be.gemm(gradKeys, store[wa].value, into: gradEncoder, transposeA: false, transposeB: true, alpha: 1, beta: 1)
        } else {
            try be.batchedGemm(ws.scores.reshaped([b, t, s]), ws.decoder.reshaped([b, t, h]),
                               into: gradEncoder.reshaped([b, s, h]), transposeA: true, transposeB: false, alpha: 1, beta: 1)
        }
        // Back to time-major.
        try be.fill(gradDecoderOutputs, value: 0)
        try be.scatterAdd(gradDecoder, indices: ws.targetOrder, into: gradDecoderOutputs)
        try be.fill(gradEncoderOutputs, value: 0)
        try be.scatterAdd(gradEncoder, indices: ws.sourceOrder, into: gradEncoderOutputs)
    }
}
