// Operand checks of the fused loss ops: sampled softmax, negative sampling and the word2vec pass
// (see `Check`). Ids are checked with `IDRule.row` where they live: `Check.ids` on the CPU before
// the op, in the kernel on OpenCL (reported at the next `synchronize`); the word2vec corpus is
// checked once on the host when `Word2VecTables` is made.

/// Sizes of one `sampledSoftmax`.
package struct SampledSoftmaxSizes: Equatable, Sendable {
    /// B: examples.
    package var batch: Int
    /// S: sampled classes shared by the batch.
    package var sampled: Int
    /// V: classes (rows of the weights).
    package var classes: Int
    /// D: dimension.
    package var dim: Int
}

/// Sizes of one `negativeSampling`.
package struct NegativeSamplingSizes: Equatable, Sendable {
    /// B: pairs.
    package var batch: Int
    /// K: negatives per pair.
    package var negatives: Int
    /// V: words (rows of the weights).
    package var words: Int
    /// D: dimension.
    package var dim: Int
}

extension Check {
    /// `sampledSoftmax`: inputs `(B, D)` float with D ≥ 1, labels `(B)` int32 and sampled `(S)`
    /// int32 (each in `0 ..< V`), labelLogQ `(B)` float, sampledLogQ `(S)` float, weights `(V, D)`
    /// float, biases `(V)` float; outputs: losses `(B)`, gradLogits `(B, S + 1)`, gradInputs and
    /// gradLabelRows `(B, D)`, gradLabelBiases `(B)`, gradSampledRows `(S, D)`,
    /// gradSampledBiases `(S)`, all float.
    package static func sampledSoftmax(_ p: SampledSoftmaxProblem, outputs o: SampledSoftmaxOutputs) throws
        -> SampledSoftmaxSizes {
        let op = "sampledSoftmax"
        let (b, d) = try matrix(op, "inputs", p.inputs)
        let (v, dw) = try matrix(op, "weights", p.weights)
        guard dw == d, d > 0 else {
            throw LoomError.shapeMismatch(op: op, detail: "inputs \(p.inputs.shape), weights \(p.weights.shape)")
        }
        let s = p.sampled.count
        try dtype(op, p.labels, .int32)
        try dtype(op, p.sampled, .int32)
        try float(op, p.inputs, p.labelLogQ, p.sampledLogQ, p.weights, p.biases)
        try count(op, "labels", p.labels, b)
        try count(op, "labelLogQ", p.labelLogQ, b)
        try count(op, "sampledLogQ", p.sampledLogQ, s)
        try count(op, "biases", p.biases, v)
        try float(op, o.losses, o.gradLogits, o.gradInputs, o.gradLabelRows, o.gradLabelBiases, o.gradSampledRows,
                  o.gradSampledBiases)
        try count(op, "losses", o.losses, b)
        try shape(op, "gradLogits", o.gradLogits, [b, s + 1])
        try shape(op, "gradInputs", o.gradInputs, [b, d])
        try shape(op, "gradLabelRows", o.gradLabelRows, [b, d])
        try count(op, "gradLabelBiases", o.gradLabelBiases, b)
        try shape(op, "gradSampledRows", o.gradSampledRows, [s, d])
        try count(op, "gradSampledBiases", o.gradSampledBiases, s)
        return SampledSoftmaxSizes(batch: b, sampled: s, classes: v, dim: d)
    }

    /// `negativeSampling`: inputs `(B, D)` float with D ≥ 1, targets `(B)` int32 and negatives
    /// `(B, K)` int32 (each in `0 ..< V`), weights `(V, D)` float; outputs: losses `(B)`,
    /// gradInputs and gradTargetRows `(B, D)`, gradNegativeRows `(B·K, D)`, all float.
    package static func negativeSampling(_ p: NegativeSamplingProblem, outputs o: NegativeSamplingOutputs) throws
        -> NegativeSamplingSizes {
        let op = "negativeSampling"
        let (b, d) = try matrix(op, "inputs", p.inputs)
        let (v, dw) = try matrix(op, "weights", p.weights)
        guard dw == d, d > 0 else {
            throw LoomError.shapeMismatch(op: op, detail: "inputs \(p.inputs.shape), weights \(p.weights.shape)")
        }
        let (bn, k) = try matrix(op, "negatives", p.negatives)
        guard bn == b else { throw LoomError.shapeMismatch(op: op, detail: "negatives \(p.negatives.shape) for \(b) pairs") }
        try dtype(op, p.targets, .int32)
        try dtype(op, p.negatives, .int32)
        try float(op, p.inputs, p.weights, o.losses, o.gradInputs, o.gradTargetRows, o.gradNegativeRows)
        try count(op, "targets", p.targets, b)
        try count(op, "losses", o.losses, b)
        try shape(op, "gradInputs", o.gradInputs, [b, d])
        try shape(op, "gradTargetRows", o.gradTargetRows, [b, d])
        try shape(op, "gradNegativeRows", o.gradNegativeRows, [b * k, d])
        return NegativeSamplingSizes(batch: b, negatives: k, words: v, dim: d)
    }

    /// `word2vecPass`: input and output `(V, D)` float (V the tables' vocabulary, V·D within
    /// int32), stats `(2)` float, the tables' keep and alias probability float, alias index and
    /// corpus int32, the sigmoid table `2 × 1001` float; a window in `1 ... 64`, negatives in
    /// `1 ... 64`, a sentence length in `1 ... 65536`, sentences within the corpus, finite learning
    /// rates and workers ≥ 0 (`invalidArgument` otherwise). Returns D.
    @discardableResult
    package static func word2vecPass(_ op: String, _ pass: Word2VecPass, tables t: Word2VecTables, input: Tensor,
                                     output: Tensor, stats: Tensor) throws -> Int {
        func bad(_ m: String) -> LoomError { .invalidArgument("\(op): \(m)") }
        try float(op, input, output, stats, t.keep, t.aliasProbability, t.sigmoid)
        try dtype(op, t.corpus, .int32)
        try dtype(op, t.aliasIndex, .int32)
        let v = t.vocabulary
        guard input.shape.rank == 2, input.shape == output.shape, input.shape[0] == v else {
            throw LoomError.shapeMismatch(
                op: op, detail: "input and output must both be (\(v), D), got \(input.shape) and \(output.shape)")
        }
        try count(op, "stats (Σ loss, pairs)", stats, 2)
        try count(op, "the sigmoid table", t.sigmoid, 2 * (Word2VecTables.tableSize + 1))
        guard (1...Word2VecPass.maxWindow).contains(pass.window) else { throw bad("window must be in 1…\(Word2VecPass.maxWindow)") }
        guard (1...Word2VecPass.maxNegatives).contains(pass.negatives) else {
            throw bad("negatives must be in 1…\(Word2VecPass.maxNegatives)")
        }
        guard pass.sentenceLength >= 1 && pass.sentenceLength <= 1 << 16 else { throw bad("sentence length must be in 1…65536") }
        let sentences = (t.corpus.count + pass.sentenceLength - 1) / pass.sentenceLength, start = pass.corpusFirstSentence
        guard start >= 0, pass.firstSentence >= start, pass.sentenceCount >= 0,
              pass.firstSentence + pass.sentenceCount <= start + sentences else {
            throw bad("sentences \(pass.firstSentence)..<\(pass.firstSentence + pass.sentenceCount) are outside the corpus's "
                      + "\(start)..<\(start + sentences)")
        }
        guard pass.learningRate.isFinite, pass.finalLearningRate.isFinite, pass.workers >= 0 else {
            throw bad("learning rates must be finite and workers not negative")
        }
        guard input.count <= Int(Int32.max) else { throw bad("a \(input.shape) table does not fit int32 offsets") }
        return input.shape[1]
    }
}

extension SampledSoftmaxProblem {
    /// Every tensor of the problem and its outputs, for ownership checks.
    package func allTensors(with o: SampledSoftmaxOutputs) -> [Tensor] {
        [inputs, labels, sampled, labelLogQ, sampledLogQ, weights, biases, o.losses, o.gradLogits, o.gradInputs,
         o.gradLabelRows, o.gradLabelBiases, o.gradSampledRows, o.gradSampledBiases]
    }
}

extension NegativeSamplingProblem {
    /// Every tensor of the problem and its outputs, for ownership checks.
    package func allTensors(with o: NegativeSamplingOutputs) -> [Tensor] {
        [inputs, targets, negatives, weights, o.losses, o.gradInputs, o.gradTargetRows, o.gradNegativeRows]
    }
}

extension Word2VecTables {
    /// Every tensor of the tables, for ownership checks.
    package var allTensors: [Tensor] { [corpus, keep, aliasProbability, aliasIndex, sigmoid] }
}
