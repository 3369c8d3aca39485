import LoomCore
import LoomKernels

extension OpenCLBackend {
    public func lstmGatesForward(gates: Tensor, previousCell: Tensor, cell: Tensor, hidden: Tensor) throws {
        let op = "lstmGatesForward"
        try Check.owned(op, by: self, gates, previousCell, cell, hidden)
        let s = try Check.lstmGatesForward(gates: gates, previousCell: previousCell, cell: cell, hidden: hidden)
        try Check.fitsInt32(op, gates, previousCell, cell, hidden)
        let (b, h) = (s.batch, s.hidden)
        try launch(.lstmGates, "lstm_gates_forward", global: b * h,
                   [.tensor(gates), .tensor(previousCell), .tensor(cell), .tensor(hidden), .int(b), .int(h)])
    }

    public func lstmGatesBackward(gates: Tensor, previousCell: Tensor, cell: Tensor, gradHidden: Tensor,
                                  gradCell: Tensor, gradGates: Tensor) throws {
        let op = "lstmGatesBackward"
        try Check.owned(op, by: self, gates, previousCell, cell, gradHidden, gradCell, gradGates)
        let s = try Check.lstmGatesBackward(gates: gates, previousCell: previousCell, cell: cell, gradHidden: gradHidden,
                                            gradCell: gradCell, gradGates: gradGates)
        try Check.fitsInt32(op, gates, previousCell, cell, gradHidden, gradCell, gradGates)
        let (b, h) = (s.batch, s.hidden)
        try launch(.lstmGates, "lstm_gates_backward", global: b * h,
                   [.tensor(gates), .tensor(previousCell), .tensor(cell), .tensor(gradHidden), .tensor(gradCell),
                    .tensor(gradGates), .int(b), .int(h)])
    }

    public func lstmGatesForward(gates: Tensor, previousCell: Tensor, previousHidden: Tensor, cell: Tensor,
                                 hidden: Tensor, lengths: Tensor, step: Int) throws {
        let op = "lstmGatesForward"
        try Check.owned(op, by: self, gates, previousCell, previousHidden, cell, hidden, lengths)
        let s = try Check.lstmGatesForward(gates: gates, previousCell: previousCell, previousHidden: previousHidden,
                                           cell: cell, hidden: hidden, lengths: lengths, step: step)
        try Check.fitsInt32(op, gates, previousCell, previousHidden, cell, hidden, lengths)
        let (b, h) = (s.batch, s.hidden)
        try launch(.lstmGates, "lstm_gates_forward_masked", global: b * h,
                   [.tensor(gates), .tensor(previousCell), .tensor(previousHidden), .tensor(cell), .tensor(hidden),
                    .tensor(lengths), .int(step), .int(b), .int(h)])
    }

    public func lstmGatesBackward(gates: Tensor, previousCell: Tensor, cell: Tensor, gradHidden: Tensor,
                                  gradCell: Tensor, gradGates: Tensor, gradPreviousHidden: Tensor, lengths: Tensor,
                                  step: Int) throws {
        let op = "lstmGatesBackward"
        let tensors = [gates, previousCell, cell, gradHidden, gradCell, gradGates, gradPreviousHidden, lengths]
        try Check.owned(op, by: self, tensors)
        let s = try Check.lstmGatesBackward(gates: gates, previousCell: previousCell, cell: cell, gradHidden: gradHidden,
                                            gradCell: gradCell, gradGates: gradGates,
                                            gradPreviousHidden: gradPreviousHidden, lengths: lengths, step: step)
        try Check.fitsInt32(op, tensors)
        let (b, h) = (s.batch, s.hidden)
        try launch(.lstmGates, "lstm_gates_backward_masked", global: b * h,
                   [.tensor(gates), .tensor(previousCell), .tensor(cell), .tensor(gradHidden), .tensor(gradCell),
                    .tensor(gradGates), .tensor(gradPreviousHidden), .tensor(lengths), .int(step), .int(b), .int(h)])
    }

    public func sampledSoftmax(_ problem: SampledSoftmaxProblem, outputs o: SampledSoftmaxOutputs,
                               lossScale: Float) throws {
        let op = "sampledSoftmax"
        let tensors = problem.allTensors(with: o)
        try Check.owned(op, by: self, tensors)
        let sizes = try Check.sampledSoftmax(problem, outputs: o)
        try Check.fitsInt32(op, tensors)
        // Labels and samples are checked in the kernel (IDRule.row) and reported at the next synchronize.
        let (b, s, v, d) = (sizes.batch, sizes.sampled, sizes.classes, sizes.dim)
        let exampleKernel = try kernel(.sampledSoftmax, "sampled_softmax_example")
        let group = powerOfTwoGroup(exampleKernel, cap: max(32, min(256, max(s + 1, d))))
        try launchRows(.sampledSoftmax, "sampled_softmax_example", rows: b, groupSize: group,
                       [.tensor(problem.inputs), .tensor(problem.labels), .tensor(problem.sampled),
                        .tensor(problem.labelLogQ), .tensor(problem.sampledLogQ), .tensor(problem.weights),
                        .tensor(problem.biases), .tensor(o.losses), .tensor(o.gradLogits), .tensor(o.gradInputs),
                        .tensor(o.gradLabelRows), .tensor(o.gradLabelBiases),
                        .int(s), .int(d), .int(v), .int(problem.removeAccidentalHits ? 1 : 0), .float(lossScale),
                        .errorWord, .local(4 * group)])
        if b == 0 {
            try fill(o.gradSampledRows, value: 0)
            try fill(o.gradSampledBiases, value: 0)
            return
        }
        try launch(.sampledSoftmax, "sampled_softmax_shared_rows", global: s * d,
                   [.tensor(o.gradLogits), .tensor(problem.inputs), .tensor(o.gradSampledRows),
                    .tensor(o.gradSampledBiases), .int(b), .int(s), .int(d)])
    }
}

extension OpenCLBackend {
    public func negativeSampling(_ problem: NegativeSamplingProblem, outputs o: NegativeSamplingOutputs,
                                 lossScale: Float) throws {
        let op = "negativeSampling"
        let tensors = problem.allTensors(with: o)
        try Check.owned(op, by: self, tensors)
        let sizes = try Check.negativeSampling(problem, outputs: o)
        try Check.fitsInt32(op, tensors)
        // Targets and negatives are checked in the kernel (IDRule.row) and reported at the next synchronize.
        let (b, k, v, d) = (sizes.batch, sizes.negatives, sizes.words, sizes.dim)
        let group = powerOfTwoGroup(try kernel(.negativeSampling, "negative_sampling_pair"), cap: max(32, min(128, d)))
        try launchRows(.negativeSampling, "negative_sampling_pair", rows: b, groupSize: group,
                       [.tensor(problem.inputs), .tensor(problem.targets), .tensor(problem.negatives),
                        .tensor(problem.weights), .tensor(o.losses), .tensor(o.gradInputs), .tensor(o.gradTargetRows),
                        .tensor(o.gradNegativeRows), .int(k), .int(d), .int(v), .float(lossScale), .errorWord,
                        .local(4 * (k + 1)), .local(4 * group)])
    }
}
