import LoomCore

/// Stacked LSTM layers, the four gates of each in one matrix, written against `Backend` alone
/// after the recipe behind cuDNN (Appleyard et al., 2016):
///
/// - the input projection of all `T` steps of a segment is ONE GEMM `(T·B, in) · (in, 4H)` (for
///   one-hot inputs, a gather of rows of `W_x`);
/// - each step adds its recurrent projection with one GEMM `(B, H) · (H, 4H)`, then one fused
///   kernel applies the gate nonlinearities and the cell and hidden updates;
/// - backward runs in reverse through the same pieces; the gradients of `W_h`, `W_x` and `b` are
///   one GEMM (or sum) each over the segment.
///
/// `forward(inputs, initial state) → outputs, final state` and `backward(output gradients,
/// final-state gradients) → input gradients, initial-state gradients`. Sequences of different
/// lengths share a batch (`Workspace.lengths`): one that has ended keeps its state and takes no
/// gradient. Dropout (inverted, Philox masks) applies to each layer's output while training.
///
/// Tensors are time-major: row `t·B + b` is step `t` of sequence `b`.
public final class LSTMStack {
    public let layers: Int
    public let hidden: Int
    /// Width of layer 0's input (the number of ids for one-hot inputs).
    public let inputWidth: Int
    /// Layer 0 reads ids: its input projection is a gather of `W_x` rows.
    public let oneHotInput: Bool
    public let dropout: Float
    let store: ParameterStore
    /// Per layer: `W_x` (in, 4H), `W_h` (H, 4H), `b` (4H); gates laid out `[i | f | o | g]`.
    public let weights: [(wx: ParameterStore.ID, wh: ParameterStore.ID, b: ParameterStore.ID)]

    /// Registers `prefix + "weight_ih_l\(l)"` (`W_x`), `"weight_hh_l\(l)"` (`W_h`) and
    /// `"bias_ih_l\(l)"` (`b`) for each layer: PyTorch's names for the same parameters of an
    /// `nn.LSTM`, whose matrices are these transposed with the gates in the order `[i | f | g | o]`
    /// (and whose `bias_hh` is Loom's zero).
    /// - Parameter initializer: the initialiser of a weight matrix of `(fanIn, fanOut)`.
    public init(store: ParameterStore, prefix: String = "", layers: Int, inputWidth: Int, hidden: Int,
                oneHotInput: Bool = false, dropout: Float = 0,
                initializer: (_ fanIn: Int, _ fanOut: Int) -> Initializer) {
        precondition(layers >= 1 && hidden >= 1 && inputWidth >= 1)
        self.layers = layers
        self.hidden = hidden
        self.inputWidth = inputWidth
        self.oneHotInput = oneHotInput
        self.dropout = dropout
        self.store = store
        weights = (0..<layers).map { l in
            let input = l == 0 ? inputWidth : hidden
            return (wx: store.register("\(prefix)weight_ih_l\(l)", shape: [input, 4 * hidden],
                                       initializer: initializer(input, 4 * hidden), decays: true),
                    wh: store.register("\(prefix)weight_hh_l\(l)", shape: [hidden, 4 * hidden],
                                       initializer: initializer(hidden, 4 * hidden), decays: true),
                    b: store.register("\(prefix)bias_ih_l\(l)", shape: [4 * hidden], initializer: .zeros, decays: false))
        }
    }

    /// Width of the input of layer `l`.
    public func inputWidth(of l: Int) -> Int { l == 0 ? inputWidth : hidden }

    /// What layer 0 reads.
    public enum Input {
        /// `(T·B)` int32 ids (one-hot inputs).
        case ids(Tensor)
        /// `(T·B, inputWidth)` vectors.
        case dense(Tensor)
    }

    // MARK: Workspace

    /// Every device buffer of a segment of `steps` × `batch`. The state before step `t` is block
    /// `t` of `cells[l]` and `hiddens[l]` (rows `t·B ..< (t+1)·B`): block 0 is the initial state,
    /// block `T` the final one.
    public final class Workspace {
        public let batch: Int
        public let steps: Int
        public let training: Bool
        /// `(B)` int32 sequence lengths; nil: every sequence runs all `steps`.
        public var lengths: Tensor?
        /// Per layer: gate activations (T·B, 4H), cells and hiddens ((T+1)·B, H), dropped outputs (T·B, H).
        public let gates: [Tensor]
        public let cells: [Tensor]
        public let hiddens: [Tensor]
        let dropped: [Tensor?]
        /// `(T·B, H)` in: the gradient of the loss w.r.t. the stack's output (as `forward` returned
        /// it); overwritten by `backward`.
        public let gradOutputs: Tensor?
        let gradGates: Tensor?
        let gradCell: Tensor?
        /// `(T·B, inputWidth)` the gradient w.r.t. dense inputs (when asked for).
        public let gradInputs: Tensor?
        /// Per layer `(B, H)`: the gradients w.r.t. the initial cell and hidden state (when asked for).
        public let gradInitialCells: [Tensor]
        public let gradInitialHiddens: [Tensor]
        let scratchHidden: Tensor?

        init(stack: LSTMStack, batch: Int, steps: Int, training: Bool, inputGradients: Bool,
             initialStateGradients: Bool, backend be: any Backend) throws {
            let h = stack.hidden, n = batch * steps, layers = stack.layers
            self.batch = batch
            self.steps = steps
            self.training = training
            gates = try (0..<layers).map { _ in try be.zeros([n, 4 * h]) }
            cells = try (0..<layers).map { _ in try be.zeros([n + batch, h]) }
            hiddens = try (0..<layers).map { _ in try be.zeros([n + batch, h]) }
            dropped = try (0..<layers).map { _ in training && stack.dropout > 0 ? try be.zeros([n, h]) : nil }
            if training {
                gradOutputs = try be.zeros([n, h])
                gradGates = try be.zeros([n, 4 * h])
                gradCell = try be.zeros([batch, h])
                gradInputs = inputGradients && !stack.oneHotInput ? try be.zeros([n, stack.inputWidth]) : nil
                gradInitialCells = initialStateGradients ? try (0..<layers).map { _ in try be.zeros([batch, h]) } : []
                gradInitialHiddens = initialStateGradients ? try (0..<layers).map { _ in try be.zeros([batch, h]) } : []
                scratchHidden = try be.zeros([batch, h])
            } else {
                gradOutputs = nil; gradGates = nil; gradCell = nil; gradInputs = nil
                gradInitialCells = []; gradInitialHiddens = []; scratchHidden = nil
            }
        }

        /// Rows of step `t` in a (T·B, …) buffer.
        @inline(__always) func step(_ t: Int, of x: Tensor) -> Tensor { x.rows((t * batch)..<((t + 1) * batch)) }
        /// Block `t` of a ((T+1)·B, H) state buffer.
        @inline(__always) func block(_ t: Int, of x: Tensor) -> Tensor { x.rows((t * batch)..<((t + 1) * batch)) }

        /// `(B, H)` views of layer `l`'s initial and final state.
        public func initialCell(_ l: Int) -> Tensor { block(0, of: cells[l]) }
        public func initialHidden(_ l: Int) -> Tensor { block(0, of: hiddens[l]) }
        public func finalCell(_ l: Int) -> Tensor { block(steps, of: cells[l]) }
        public func finalHidden(_ l: Int) -> Tensor { block(steps, of: hiddens[l]) }
        /// `(T·B, H)` layer `l`'s hidden outputs (before dropout).
        public func hiddenOutputs(_ l: Int) -> Tensor { hiddens[l].rows(batch..<(batch * (steps + 1))) }
    }

    /// Buffers for segments of `steps` × `batch`. `inputGradients`: `backward` computes the
    /// gradient w.r.t. dense inputs; `initialStateGradients`: and w.r.t. the initial state.
    public func workspace(batch: Int, steps: Int, training: Bool, inputGradients: Bool = false,
                          initialStateGradients: Bool = false) throws -> Workspace {
        try Workspace(stack: self, batch: batch, steps: steps, training: training, inputGradients: inputGradients,
                      initialStateGradients: initialStateGradients, backend: backend)
    }

    var backend: any Backend { store.backend! }

    /// Zeroes the initial state.
    public func resetState(_ ws: Workspace) throws {
        for l in 0..<layers {
            try backend.fill(ws.initialCell(l), value: 0)
            try backend.fill(ws.initialHidden(l), value: 0)
        }
    }

    /// Reorders the rows of the initial state: row `k` takes row `parents[k]`'s (beam search).
    /// - Parameters: parents `(B)` int32 on the device; scratch `(B, H)`.
    public func reorderState(_ ws: Workspace, parents: Tensor, scratch: Tensor) throws {
        for l in 0..<layers {
            for state in [ws.initialCell(l), ws.initialHidden(l)] {
                try backend.gather(state, indices: parents, into: scratch)
                try backend.copy(scratch, to: state)
            }
        }
    }

    /// Makes the final state the initial state of the next segment (truncated BPTT).
    public func carryState(_ ws: Workspace) throws {
        for l in 0..<layers {
            try backend.copy(ws.finalCell(l), to: ws.initialCell(l))
            try backend.copy(ws.finalHidden(l), to: ws.initialHidden(l))
        }
    }

    // MARK: Forward

    /// Runs every layer over the segment from the initial state in `ws`; returns the top layer's
    /// output `(T·B, H)` (after dropout when training with dropout). `dropout` gives the site of
    /// layer 0's output; layer `l` uses site `dropout.site + l`.
    @discardableResult
    public func forward(_ ws: Workspace, input: Input, dropout site: DropoutSite? = nil) throws -> Tensor {
        let be = backend, b = ws.batch, n = b * ws.steps
        let keep = 1 - dropout
        let drop = ws.training && dropout > 0
        var x: Tensor? = nil
        for l in 0..<layers {
            let (wx, wh, bias) = weights[l]
            let gates = ws.gates[l]
            // Input projection of every step at once.
            if l == 0, case let .ids(ids) = input {
                try be.gather(store[wx].value, indices: ids, into: gates)
            } else {
                let source: Tensor
                if l == 0, case let .dense(t) = input { source = t } else { source = x! }
                try be.gemm(source, store[wx].value, into: gates, transposeA: false, transposeB: false, alpha: 1, beta: 0)
            }
            try be.addRowVector(store[bias].value, to: gates)
            // The recurrence: one GEMM and one fused gate kernel per step.
            let cells = ws.cells[l], hiddens = ws.hiddens[l], w: Tensor = store[wh].value
            for t in 0..<ws.steps {
                let g = ws.step(t, of: gates)
                try be.gemm(ws.block(t, of: hiddens), w, into: g, transposeA: false, transposeB: false, alpha: 1, beta: 1)
                if let lengths = ws.lengths {
                    try be.lstmGatesForward(gates: g, previousCell: ws.block(t, of: cells),
                                            previousHidden: ws.block(t, of: hiddens), cell: ws.block(t + 1, of: cells),
                                            hidden: ws.block(t + 1, of: hiddens), lengths: lengths, step: t)
                } else {
                    try be.lstmGatesForward(gates: g, previousCell: ws.block(t, of: cells),
                                            cell: ws.block(t + 1, of: cells), hidden: ws.block(t + 1, of: hiddens))
                }
            }
            var output = hiddens.rows(b..<(n + b))
            if drop, let dropped = ws.dropped[l], let site {
                try be.dropout(output, into: dropped, keepProbability: keep, seed: site.seed, stream: site.at(site.site + l).stream)
                output = dropped
            }
            x = output
        }
        return x!
    }

    /// The input of layer `l` as the forward pass saw it (nil for ids).
    private func layerInput(_ ws: Workspace, _ l: Int, _ input: Input) -> Tensor? {
        if l == 0 {
            if case let .dense(t) = input { return t }
            return nil
        }
        if let dropped = ws.dropped[l - 1] { return dropped }
        return ws.hiddenOutputs(l - 1)
    }

    // MARK: Backward

    /// Backpropagation through time over the segment `forward` ran. Reads the gradient w.r.t.
    /// the stack's output from `ws.gradOutputs`; writes the parameters' gradients (overwriting),
    /// `ws.gradInputs` (dense inputs, when the workspace has it) and `ws.gradInitialCells` /
    /// `gradInitialHiddens` (when it has them).
    /// - Parameter finalState: per layer, the gradients w.r.t. the final cell and hidden state
    ///   (`(B, H)` each), or nil for none (nothing flows back from later segments).
    public func backward(_ ws: Workspace, input: Input, dropout site: DropoutSite? = nil,
                         finalState: [(cell: Tensor, hidden: Tensor)]? = nil) throws {
        let be = backend, b = ws.batch, n = b * ws.steps
        let keep = 1 - dropout
        guard let gradOutputs = ws.gradOutputs, let gradGates = ws.gradGates, let gradCell = ws.gradCell,
              let scratch = ws.scratchHidden else {
            throw LoomError.invalidArgument("LSTMStack.backward needs a training workspace")
        }
        let wantInitial = !ws.gradInitialCells.isEmpty
        for l in stride(from: layers - 1, through: 0, by: -1) {
            let (wx, wh, bias) = weights[l]
            if ws.dropped[l] != nil, let site {
                try be.dropoutBackward(gradOutputs, into: gradOutputs, keepProbability: keep, seed: site.seed,
                                       stream: site.at(site.site + l).stream)
            }
            if let final = finalState?[l] {
                // h_T is the output of the last step; c_T enters the recurrence's cell gradient.
                try be.axpy(alpha: 1, final.hidden, ws.step(ws.steps - 1, of: gradOutputs))
                try be.copy(final.cell, to: gradCell)
            } else {
                try be.fill(gradCell, value: 0)
            }
            // Through time, last step first: step t's gradient w.r.t. h_{t−1} is added straight into
            // the output gradient of step t−1 (one GEMM with β = 1).
            let cells = ws.cells[l], gates = ws.gates[l], hiddens = ws.hiddens[l], w: Tensor = store[wh].value
            let initialHidden = wantInitial ? ws.gradInitialHiddens[l] : scratch
            if ws.lengths != nil || wantInitial { try be.fill(initialHidden, value: 0) }
            for t in stride(from: ws.steps - 1, through: 0, by: -1) {
                let previous = t > 0 ? ws.step(t - 1, of: gradOutputs) : initialHidden
                if let lengths = ws.lengths {
                    try be.lstmGatesBackward(gates: ws.step(t, of: gates), previousCell: ws.block(t, of: cells),
                                             cell: ws.block(t + 1, of: cells), gradHidden: ws.step(t, of: gradOutputs),
                                             gradCell: gradCell, gradGates: ws.step(t, of: gradGates),
                                             gradPreviousHidden: previous, lengths: lengths, step: t)
                } else {
                    try be.lstmGatesBackward(gates: ws.step(t, of: gates), previousCell: ws.block(t, of: cells),
                                             cell: ws.block(t + 1, of: cells), gradHidden: ws.step(t, of: gradOutputs),
                                             gradCell: gradCell, gradGates: ws.step(t, of: gradGates))
                }
                if t > 0 || wantInitial {
                    try be.gemm(ws.step(t, of: gradGates), w, into: previous, transposeA: false, transposeB: true,
                                alpha: 1, beta: 1)
                }
            }
            if wantInitial { try be.copy(gradCell, to: ws.gradInitialCells[l]) }
            // Whole-segment weight gradients: one GEMM each.
            try be.gemm(hiddens.rows(0..<n), gradGates, into: store[wh].gradient, transposeA: true, transposeB: false,
                        alpha: 1, beta: 0)
            try be.sumRows(gradGates, into: store[bias].gradient, accumulate: false)
            if l == 0, case let .ids(ids) = input {
                try be.fill(store[wx].gradient, value: 0)
                try be.scatterAdd(gradGates, indices: ids, into: store[wx].gradient)
                continue
            }
            let x = layerInput(ws, l, input)!
            try be.gemm(x, gradGates, into: store[wx].gradient, transposeA: true, transposeB: false, alpha: 1, beta: 0)
            if l > 0 {
                // The gradient of layer l−1's (dropped) output.
                try be.gemm(gradGates, store[wx].value, into: gradOutputs, transposeA: false, transposeB: true,
                            alpha: 1, beta: 0)
            } else if let gradInputs = ws.gradInputs {
                try be.gemm(gradGates, store[wx].value, into: gradInputs, transposeA: false, transposeB: true,
                            alpha: 1, beta: 0)
            }
        }
    }
}
