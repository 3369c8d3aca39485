/// What a device can do: the single dispatch point every model is written against.
///
/// Models call these ops and never ask which backend runs them. Ops are enqueued in order and may
/// run asynchronously (OpenCL); `download` and `synchronize` wait. Everything a training step needs
/// is here, so a step never has to copy to the host. Shapes are row-major; "(B, D)" means B rows of
/// D contiguous elements. Unless an op says otherwise, outputs must not overlap inputs.
///
/// Each op has a plain reference on `CPUBackend` and a kernel (or CLBlast) on `OpenCLBackend`; the
/// test suite checks them against each other and every backward op against finite differences.
///
/// Bad operands throw before any work is enqueued, with the same `LoomError` case on every
/// backend (one checker per op in `Checks+*.swift`): `dtypeMismatch`, `wrongBackend`,
/// `shapeMismatch`, `invalidArgument` for a scalar out of its domain, and `indexOutOfRange` for an
/// id outside its table — at once on the CPU, at the next `synchronize` or `download` on OpenCL,
/// whose kernels skip the bad element and flag it.
///
/// A backend is used from one thread at a time.
public protocol Backend: AnyObject {
    /// Short name for messages: `cpu`, `opencl:0:0`.
    var name: String { get }
    /// Human description of the device (name, vendor, driver).
    var deviceDescription: String { get }

    // MARK: Memory

    /// Allocates uninitialised storage for `shape` elements of `dtype`.
    func allocate(_ shape: Shape, dtype: DType) throws -> Tensor
    /// Copies `bytes` (exactly `tensor.byteCount` of them) from the host into `tensor`.
    /// The host memory may be reused as soon as this returns.
    func upload(_ bytes: UnsafeRawBufferPointer, to tensor: Tensor) throws
    /// Waits for pending work on `tensor`, then copies it into `bytes` on the host.
    func download(_ tensor: Tensor, into bytes: UnsafeMutableRawBufferPointer) throws
    /// Waits until every enqueued op has finished, and reports errors kernels flagged meanwhile
    /// (e.g. an out-of-range id seen by a gather on the device).
    func synchronize() throws
    /// Sets every element to `value` (converted to the tensor's type).
    func fill(_ tensor: Tensor, value: Float) throws
    /// Copies `source` into `destination` (same count and type; views may differ in shape).
    func copy(_ source: Tensor, to destination: Tensor) throws

    // MARK: Linear algebra

    /// `c = alpha · op(a) · op(b) + beta · c`, where `op` transposes when asked.
    /// - Parameters:
    ///   - a: `(M, K)`, or `(K, M)` with `transposeA`.
    ///   - b: `(K, N)`, or `(N, K)` with `transposeB`.
    ///   - c: `(M, N)`.
    func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor, transposeA: Bool, transposeB: Bool,
              alpha: Float, beta: Float) throws
    /// The same product for each of `batch` matrices laid one after another (strided batched GEMM).
    /// - Parameters:
    ///   - a: `(batch, M, K)` or `(batch, K, M)`; `b`: `(batch, K, N)` or `(batch, N, K)`;
    ///     `c`: `(batch, M, N)`.
    func batchedGemm(_ a: Tensor, _ b: Tensor, into c: Tensor, transposeA: Bool, transposeB: Bool,
                     alpha: Float, beta: Float) throws

    // MARK: Embeddings

    /// `out[n] = table[indices[n]]`.
    /// - Parameters: table `(V, D)`, indices `(N)` int32, out `(N, D)`.
    func gather(_ table: Tensor, indices: Tensor, into out: Tensor) throws
    /// `table[indices[n]] += scale · rows[n]`; rows with the same index all add up. With
    /// `scale = −lr` this is plain SGD on the rows of a parameter, duplicates included.
    /// - Parameters: rows `(N, D)`, indices `(N)` int32, table `(V, D)`.
    func scatterAdd(_ rows: Tensor, indices: Tensor, into table: Tensor, scale: Float) throws
    /// Bags of rows: `out[b] = Σ_j table[ids[b, j]]` over the ids that are not negative (−1 pads a
    /// short bag), divided by their number when `mean` (an empty bag gives zeros). CBOW's input.
    /// - Parameters: table `(V, D)`, ids `(B, C)` int32, out `(B, D)`.
    func embeddingBag(_ table: Tensor, ids: Tensor, into out: Tensor, mean: Bool) throws
    /// Backward of `embeddingBag`: `gradRows[slots[b, j]] += scale · gradOutput[b]` (÷ the bag's
    /// size when `mean`) for every slot that is not negative. `slots` has the padding of the
    /// forward `ids`; it indexes `gradRows` — the distinct rows a step touches, or (with
    /// `scale = −lr`) the embedding table itself for plain SGD.
    /// - Parameters: gradOutput `(B, D)`, slots `(B, C)` int32, gradRows `(U, D)`.
    func embeddingBagBackward(_ gradOutput: Tensor, slots: Tensor, into gradRows: Tensor, mean: Bool,
                              scale: Float) throws
    /// Each row scaled to unit L2 norm (rows of norm below 1e-12 become zeros). x, out: `(R, C)`.
    func normalizeRows(_ x: Tensor, into out: Tensor) throws

    // MARK: Elementwise

    /// `out = a + b` (same count).
    func add(_ a: Tensor, _ b: Tensor, into out: Tensor) throws
    /// `out = a ⊙ b` (same count).
    func multiply(_ a: Tensor, _ b: Tensor, into out: Tensor) throws
    /// `y += alpha · x` (same count).
    func axpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws
    /// `x *= factor`, in place.
    func scale(_ x: Tensor, by factor: Float) throws
    /// `x[r, c] += vector[c]` in place, for every row: adding a bias.
    /// - Parameters: x `(R, C)`, vector `(C)`.
    func addRowVector(_ vector: Tensor, to x: Tensor) throws
    /// `out[c] = Σ_r x[r, c]` (plus the old `out` when `accumulate`): the gradient of a bias.
    /// - Parameters: x `(R, C)`, out `(C)`.
    func sumRows(_ x: Tensor, into out: Tensor, accumulate: Bool) throws
    /// `out = 1 / (1 + e^{−x})`.
    func sigmoid(_ x: Tensor, into out: Tensor) throws
    /// `out = tanh(x)`.
    func tanh(_ x: Tensor, into out: Tensor) throws
    /// `gradInput = gradOutput ⊙ y ⊙ (1 − y)`, given the forward output `y`.
    func sigmoidBackward(output y: Tensor, gradOutput: Tensor, into gradInput: Tensor) throws
    /// `gradInput = gradOutput ⊙ (1 − y²)`, given the forward output `y`.
    func tanhBackward(output y: Tensor, gradOutput: Tensor, into gradInput: Tensor) throws

    // MARK: Softmax

    /// Row-wise softmax. logits, out: `(N, C)`.
    func softmax(_ logits: Tensor, into out: Tensor) throws
    /// Row-wise softmax cross-entropy: `loss[n] = logsumexp(logits[n]) − logits[n, labels[n]]`.
    /// A label of −1 is padding: its loss is 0 (and its gradient row 0 in the backward pass).
    /// - Parameters: logits `(N, C)`, labels `(N)` int32, probabilities `(N, C)` (out, kept for
    ///   the backward pass), losses `(N)` (out).
    func softmaxCrossEntropy(_ logits: Tensor, labels: Tensor, probabilities: Tensor, losses: Tensor) throws
    /// `gradLogits = scale · (probabilities − onehot(labels))`; rows whose label is −1 get zeros.
    /// - Parameters: probabilities `(N, C)`, labels `(N)` int32, gradLogits `(N, C)`.
    func softmaxCrossEntropyBackward(probabilities: Tensor, labels: Tensor, into gradLogits: Tensor,
                                     scale: Float) throws
    /// Row-wise softmax over a prefix of each row: row `r` belongs to sequence `r / rowsPerLength`
    /// and only its first `lengths[r / rowsPerLength]` columns take part; the rest are 0 (a row
    /// with length 0 is all zeros). Attention over padded source sentences.
    /// - Parameters: logits, out `(N, C)`; lengths `(N / rowsPerLength)` int32, each in `0...C`.
    func maskedSoftmax(_ logits: Tensor, lengths: Tensor, rowsPerLength: Int, into out: Tensor) throws
    /// Backward of a (masked) softmax given its output `y`: `gradInput = y ⊙ (g − Σ_j y_j g_j)` by rows
    /// (masked columns, where `y` is 0, get 0).
    /// - Parameters: output, gradOutput, gradInput `(N, C)`.
    func softmaxBackward(output y: Tensor, gradOutput: Tensor, into gradInput: Tensor) throws

    // MARK: Dropout

    /// `out[i] = x[i] / keep` where element `i` is kept, else 0. The mask is a pure function of
    /// (`seed`, `stream`, `i`) — Philox4x32-10, identical on every backend — so the backward pass
    /// regenerates it instead of storing it.
    func dropout(_ x: Tensor, into out: Tensor, keepProbability: Float, seed: UInt64, stream: UInt64) throws
    /// `gradInput = gradOutput ⊙ mask / keep` with the mask of the matching `dropout` call.
    func dropoutBackward(_ gradOutput: Tensor, into gradInput: Tensor, keepProbability: Float,
                         seed: UInt64, stream: UInt64) throws

    // MARK: Reductions

    /// `result[0] = Σ x²` (plus the old value when `accumulate`). result: `(1)`.
    /// Sum several tensors into one scalar for global-norm clipping.
    func sumOfSquares(_ x: Tensor, into result: Tensor, accumulate: Bool) throws
    /// `result[0] = Σ x` (plus the old value when `accumulate`). result: `(1)`.
    func sum(_ x: Tensor, into result: Tensor, accumulate: Bool) throws
    /// `x *= min(1, maxNorm / √sumOfSquares[0])`, reading the norm on the device: the second half
    /// of clipping by global norm, with no trip to the host.
    func clipByGlobalNorm(_ x: Tensor, sumOfSquares: Tensor, maxNorm: Float) throws

    // MARK: Optimisers

    /// One optimiser step on `parameter` given `gradient`.
    ///
    /// Dense (`rows == nil`): parameter, gradient and every state tensor have the same count.
    /// Sparse (`rows` given): parameter `(V, D)`, gradient `(U, D)`, `rows` `(U)` int32 **distinct**
    /// row ids; only those rows of the parameter and its state change (sum duplicate gradient rows
    /// first with `scatterAdd`). State tensors: `rule.stateCount` of them, shaped like `parameter`.
    func applyUpdate(_ rule: UpdateRule, parameter: Tensor, gradient: Tensor, state: [Tensor],
                     rows: Tensor?) throws

    // MARK: Fused LSTM cell

    /// The pointwise half of an LSTM step for a batch, fused.
    ///
    /// Given the gate preactivations `gates` `(B, 4H)` laid out `[i | f | o | g]` (input, forget,
    /// output, candidate), replaces them **in place** with their activations (σ, σ, σ, tanh) and
    /// computes `cell = f ⊙ previousCell + i ⊙ g` and `hidden = o ⊙ tanh(cell)`.
    /// - Parameters: gates `(B, 4H)` (in: preactivations, out: activations), previousCell `(B, H)`,
    ///   cell `(B, H)` (out), hidden `(B, H)` (out).
    func lstmGatesForward(gates: Tensor, previousCell: Tensor, cell: Tensor, hidden: Tensor) throws
    /// Backward of `lstmGatesForward`.
    /// - Parameters:
    ///   - gates: `(B, 4H)` activations saved by the forward pass.
    ///   - previousCell, cell: `(B, H)` from the forward pass.
    ///   - gradHidden: `(B, H)` loss gradient w.r.t. `hidden`.
    ///   - gradCell: `(B, H)` in: gradient w.r.t. `cell` from later steps; out: w.r.t. `previousCell`.
    ///   - gradGates: `(B, 4H)` out: gradient w.r.t. the preactivations.
    func lstmGatesBackward(gates: Tensor, previousCell: Tensor, cell: Tensor, gradHidden: Tensor,
                           gradCell: Tensor, gradGates: Tensor) throws
    /// `lstmGatesForward` for a batch of sequences of different lengths at step `step`: rows whose
    /// sequence has ended (`step ≥ lengths[b]`) keep their state (`cell = previousCell`,
    /// `hidden = previousHidden`), the others step as usual.
    /// - Parameters: as `lstmGatesForward`, plus previousHidden `(B, H)`, lengths `(B)` int32.
    func lstmGatesForward(gates: Tensor, previousCell: Tensor, previousHidden: Tensor, cell: Tensor,
                          hidden: Tensor, lengths: Tensor, step: Int) throws
    /// Backward of the variable-length `lstmGatesForward`. For a row that has ended at `step`, the
    /// state passed through unchanged: `gradGates` is 0, `gradCell` passes as it is, and
    /// `gradPreviousHidden += gradHidden`; other rows are as `lstmGatesBackward` (which leaves
    /// `gradPreviousHidden` alone: the recurrent GEMM adds their part).
    /// - Parameters: as `lstmGatesBackward`, plus gradPreviousHidden `(B, H)` (accumulated),
    ///   lengths `(B)` int32.
    func lstmGatesBackward(gates: Tensor, previousCell: Tensor, cell: Tensor, gradHidden: Tensor,
                           gradCell: Tensor, gradGates: Tensor, gradPreviousHidden: Tensor, lengths: Tensor,
                           step: Int) throws

    // MARK: Convolution and pooling (NHWC; see `ConvGeometry`)

    /// Unfolds image patches: row `(n, oy, ox)` of `columns` holds the `KH·KW·C` input values
    /// under the window at that output pixel, ordered `(ky, kx, c)`, zeros where it hangs over the
    /// padding. A convolution is then `gemm(columns, weights (KH·KW·C, F))`.
    /// - Parameters: input `N·H·W·C`; columns `(N·OH·OW, KH·KW·C)` (out).
    func im2col(_ input: Tensor, _ geometry: ConvGeometry, into columns: Tensor) throws
    /// The adjoint of `im2col`: every input element gets the sum of the column entries that
    /// copied it (the input gradient of a convolution from the columns' gradient).
    /// - Parameters: columns `(N·OH·OW, KH·KW·C)`; gradInput `N·H·W·C` (out, overwritten).
    func col2im(_ columns: Tensor, _ geometry: ConvGeometry, into gradInput: Tensor) throws
    /// `out = max(x, 0)` (out may be x).
    func relu(_ x: Tensor, into out: Tensor) throws
    /// `gradInput = gradOutput` where the ReLU's output `y > 0`, else 0 (gradInput may be gradOutput).
    func reluBackward(output y: Tensor, gradOutput: Tensor, into gradInput: Tensor) throws
    /// Max pooling per channel over `KH × KW` windows; `argmax` records, for every output, the
    /// flat index into `input` of the maximum (the first, in window order, among equals), so the
    /// backward pass is a scatter. Windows see only the image (the padding never wins).
    /// - Parameters: input `N·H·W·C`; output `N·OH·OW·C` (out); argmax `N·OH·OW·C` int32 (out).
    func maxPool(_ input: Tensor, _ geometry: ConvGeometry, into output: Tensor, argmax: Tensor) throws
    /// Backward of `maxPool`: each input element gets the sum of the output gradients whose
    /// maximum it was (0 for the rest).
    /// - Parameters: gradOutput, argmax `N·OH·OW·C`; gradInput `N·H·W·C` (out, overwritten).
    func maxPoolBackward(_ gradOutput: Tensor, argmax: Tensor, _ geometry: ConvGeometry, into gradInput: Tensor) throws

    // MARK: Fused negative sampling

    /// word2vec's negative-sampling loss and its gradients in one op. For pair `i` with target
    /// `t = targets[i]` and negatives `n_k = negatives[i, k]`:
    /// `loss[i] = −log σ(h_i·w_t) − Σ_k log σ(−h_i·w_{n_k})`, where a negative equal to the target
    /// is skipped (as the C tool does). Gradients are of `lossScale · Σ_i loss[i]`.
    func negativeSampling(_ problem: NegativeSamplingProblem, outputs: NegativeSamplingOutputs,
                          lossScale: Float) throws

    /// word2vec with negative sampling over whole sentences of a device-resident corpus, one fused
    /// step per centre word (HogBatch; see `Word2VecPass`): plain SGD straight into `input` (the
    /// word vectors, syn0) and `output` (syn1neg). Skip-gram: each context row predicts the centre
    /// and the negatives drawn for its window; CBOW: the sum or mean of the context rows does, and
    /// every context row gets the whole input gradient (as word2vec.c). Targets and contexts are
    /// scored from the rows as the window found them, then both are updated. Adds the window's
    /// `−log σ(±x·w)` to `stats[0]` and its pairs (skip-gram: context–centre; CBOW: centres) to
    /// `stats[1]`. With `pass.workers > 1` sentences run concurrently without locks (Hogwild).
    /// - Parameters: input, output `(V, D)`; stats `(2)`.
    func word2vecPass(_ pass: Word2VecPass, tables: Word2VecTables, input: Tensor, output: Tensor, stats: Tensor) throws

    // MARK: Fused sampled softmax

    /// Sampled softmax loss (TensorFlow's `sampled_softmax_loss`) and all its gradients in one op.
    ///
    /// For example `i` with candidates `c = [labels[i], sampled…]`:
    /// `z[i, j] = inputs[i]·weights[c_j] + biases[c_j] − logQ(c_j)`, with `−FLT_MAX` added where a
    /// sampled id equals the label (when `removeAccidentalHits`); `loss[i] = logsumexp(z[i]) − z[i, 0]`.
    /// Gradients are of `lossScale · Σ_i loss[i]`.
    func sampledSoftmax(_ problem: SampledSoftmaxProblem, outputs: SampledSoftmaxOutputs, lossScale: Float) throws

    // MARK: t-SNE

    /// Whether the device is a GPU, where O(N²) work over all pairs is cheap: t-SNE's `auto`
    /// method runs the exact gradient there (up to ~20k points) and Barnes-Hut on the host otherwise.
    var isGPU: Bool { get }
    /// t-SNE's O(N²) pass over every pair `i ≠ j` of a 2-D embedding, with the Student-t kernel
    /// `w_ij = 1 / (1 + ‖y_i − y_j‖²)`; the gradient's normaliser `Z = Σ_ij w_ij` comes from the
    /// row sums, so one pass suffices (`tsneGradient` finishes it):
    /// - `forces[i] = (Σ_j p_ij·w_ij·(y_i − y_j), Σ_j w_ij²·(y_i − y_j))`: attraction (x, y), then
    ///   repulsion (x, y) before division by Z;
    /// - `stats[i] = (Σ_j w_ij, Σ_{j: p_ij > 0} p_ij·log(p_ij / w_ij), Σ_j p_ij)`; the middle term
    ///   only when `divergence` (it costs a logarithm per pair), else 0.
    /// - Parameters: y `(N, 2)`, p `(N, N)` joint probabilities (symmetric, zero diagonal; the
    ///   diagonal is never read), forces `(N, 4)`, stats `(N, 3)`.
    func tsnePairForces(_ y: Tensor, p: Tensor, forces: Tensor, stats: Tensor, divergence: Bool) throws
    /// The exact t-SNE gradient from `tsnePairForces`, with `Z = Σ_i stats[i, 0]`:
    /// `gradient[i] = 4·(exaggeration·attraction_i − repulsion_i / Z)` (sklearn's `_kl_divergence`
    /// with P multiplied by `exaggeration`), and `divergence[0] = Σ_i stats[i, 1] + log Z·Σ_i stats[i, 2]`,
    /// which is `KL(P ‖ Q) = Σ p_ij log(p_ij / q_ij)` with `q_ij = w_ij / Z` of the un-exaggerated P
    /// when the pass computed its divergence terms. Z stays on the device.
    /// - Parameters: forces `(N, 4)`, stats `(N, 3)`, gradient `(N, 2)` (out), divergence `(1)` (out).
    func tsneGradient(forces: Tensor, stats: Tensor, exaggeration: Float, gradient: Tensor, divergence: Tensor) throws
    /// One t-SNE step with adaptive gains and momentum, elementwise, as sklearn's `_gradient_descent`:
    /// `gain = max(minGain, u·g < 0 ? gain + 0.2 : gain · 0.8)`, `u = momentum·u − learningRate·gain·g`,
    /// `y += u`. `gradient` is not modified.
    /// - Parameters: y, gradient, velocity (u), gains: the same count (`(N, 2)` for an embedding).
    func tsneUpdate(_ y: Tensor, gradient: Tensor, velocity: Tensor, gains: Tensor, learningRate: Float,
                    momentum: Float, minGain: Float) throws
}

/// Inputs of `Backend.sampledSoftmax`. `B` examples, `S` sampled ids shared by the batch, `V`
/// classes, `D` dimensions.
public struct SampledSoftmaxProblem {
    /// `(B, D)` the examples' hidden vectors (embeddings in word2vec).
    public var inputs: Tensor
    /// `(B)` int32 true class of each example.
    public var labels: Tensor
    /// `(S)` int32 sampled classes, shared by the batch.
    public var sampled: Tensor
    /// `(B)` log expected count of each label under the sampler.
    public var labelLogQ: Tensor
    /// `(S)` log expected count of each sampled class.
    public var sampledLogQ: Tensor
    /// `(V, D)` output weights.
    public var weights: Tensor
    /// `(V)` output biases.
    public var biases: Tensor
    /// Drop sampled logits that equal the example's label (TensorFlow's default).
    public var removeAccidentalHits: Bool

    public init(inputs: Tensor, labels: Tensor, sampled: Tensor, labelLogQ: Tensor, sampledLogQ: Tensor,
                weights: Tensor, biases: Tensor, removeAccidentalHits: Bool = true) {
        self.inputs = inputs
        self.labels = labels
        self.sampled = sampled
        self.labelLogQ = labelLogQ
        self.sampledLogQ = sampledLogQ
        self.weights = weights
        self.biases = biases
        self.removeAccidentalHits = removeAccidentalHits
    }
}

/// Outputs of `Backend.sampledSoftmax`, all written by the op.
public struct SampledSoftmaxOutputs {
    /// `(B)` unscaled loss of each example.
    public var losses: Tensor
    /// `(B, S + 1)` gradient w.r.t. the logits `[true, sampled…]` (scaled), kept for inspection.
    public var gradLogits: Tensor
    /// `(B, D)` gradient w.r.t. `inputs`.
    public var gradInputs: Tensor
    /// `(B, D)` gradient w.r.t. `weights[labels[i]]`, one row per example (ids may repeat).
    public var gradLabelRows: Tensor
    /// `(B)` gradient w.r.t. `biases[labels[i]]`.
    public var gradLabelBiases: Tensor
    /// `(S, D)` gradient w.r.t. `weights[sampled[j]]`, summed over the batch.
    public var gradSampledRows: Tensor
    /// `(S)` gradient w.r.t. `biases[sampled[j]]`.
    public var gradSampledBiases: Tensor

    public init(losses: Tensor, gradLogits: Tensor, gradInputs: Tensor, gradLabelRows: Tensor,
                gradLabelBiases: Tensor, gradSampledRows: Tensor, gradSampledBiases: Tensor) {
        self.losses = losses
        self.gradLogits = gradLogits
        self.gradInputs = gradInputs
        self.gradLabelRows = gradLabelRows
        self.gradLabelBiases = gradLabelBiases
        self.gradSampledRows = gradSampledRows
        self.gradSampledBiases = gradSampledBiases
    }

    /// Allocates every output for `batch` examples, `sampled` candidates and dimension `dim`.
    public static func allocate(on backend: any Backend, batch: Int, sampled: Int, dim: Int) throws -> Self {
        try SampledSoftmaxOutputs(
            losses: backend.allocate([batch], dtype: .float32),
            gradLogits: backend.allocate([batch, sampled + 1], dtype: .float32),
            gradInputs: backend.allocate([batch, dim], dtype: .float32),
            gradLabelRows: backend.allocate([batch, dim], dtype: .float32),
            gradLabelBiases: backend.allocate([batch], dtype: .float32),
            gradSampledRows: backend.allocate([sampled, dim], dtype: .float32),
            gradSampledBiases: backend.allocate([sampled], dtype: .float32))
    }
}

/// An optimiser's update rule with its hyperparameters for one step.
public enum UpdateRule: Equatable, Sendable {
    /// `p −= lr · g`.
    case sgd(learningRate: Float)
    /// `v = μ·v + g; p −= lr · v` (state: velocity).
    case momentum(learningRate: Float, momentum: Float)
    /// `a += g²; p −= lr · g / (√a + ε)` (state: accumulator, start it at e.g. 0.1 as TensorFlow).
    case adagrad(learningRate: Float, epsilon: Float)
    /// Adam with bias correction for 1-based `step` (state: first and second moments).
    case adam(learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, step: Int)

    /// Number of state tensors the rule keeps per parameter.
    public var stateCount: Int {
        switch self {
        case .sgd: return 0
        case .momentum, .adagrad: return 1
        case .adam: return 2
        }
    }

    /// Adam's step size with both bias corrections folded in:
    /// `lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ)` (Kingma & Ba, section 2, last paragraph).
    public var adamStepSize: Float {
        guard case let .adam(lr, b1, b2, _, step) = self else { return 0 }
        let t = Double(max(step, 1))
        return Float(Double(lr) * (1 - pow(Double(b2), t)).squareRoot() / (1 - pow(Double(b1), t)))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Inputs of `Backend.negativeSampling`: `B` pairs, `K` negatives each, `V` words, `D` dimensions.
public struct NegativeSamplingProblem {
    /// `(B, D)` the input vectors of the pairs.
    public var inputs: Tensor
    /// `(B)` int32 the word each pair predicts.
    public var targets: Tensor
    /// `(B, K)` int32 negative words of each pair.
    public var negatives: Tensor
    /// `(V, D)` output vectors (word2vec's `syn1neg`).
    public var weights: Tensor

    public init(inputs: Tensor, targets: Tensor, negatives: Tensor, weights: Tensor) {
        self.inputs = inputs
        self.targets = targets
        self.negatives = negatives
        self.weights = weights
    }
}

/// Outputs of `Backend.negativeSampling`, all written by the op.
public struct NegativeSamplingOutputs {
    /// `(B)` loss of each pair (unscaled).
    public var losses: Tensor
    /// `(B, D)` gradient w.r.t. `inputs`.
    public var gradInputs: Tensor
    /// `(B, D)` gradient w.r.t. `weights[targets[i]]`, one row per pair.
    public var gradTargetRows: Tensor
    /// `(B·K, D)` gradient w.r.t. `weights[negatives[i, k]]`, row `i·K + k` (zero where skipped).
    public var gradNegativeRows: Tensor

    public init(losses: Tensor, gradInputs: Tensor, gradTargetRows: Tensor, gradNegativeRows: Tensor) {
        self.losses = losses
        self.gradInputs = gradInputs
        self.gradTargetRows = gradTargetRows
        self.gradNegativeRows = gradNegativeRows
    }

    public static func allocate(on backend: any Backend, batch: Int, negatives: Int, dim: Int) throws -> Self {
        try NegativeSamplingOutputs(
            losses: backend.allocate([batch], dtype: .float32),
            gradInputs: backend.allocate([batch, dim], dtype: .float32),
            gradTargetRows: backend.allocate([batch, dim], dtype: .float32),
            gradNegativeRows: backend.allocate([batch * negatives, dim], dtype: .float32))
    }
}
