import LoomCore
import LoomKernels

extension OpenCLBackend {
    private func lstmSizes(_ op: String, gates: Tensor, _ others: [Tensor]) throws -> (Int, Int) {
        try Check.owned(op, by: self, gates)
        try Check.float(op, gates)
        let (b, h4) = try Check.matrix(op, "gates", gates)
        guard h4 % 4 == 0 else { throw LoomError.shapeMismatch(op: op, detail: "gates \(gates.shape) is not (B, 4H)") }
        for t in others {
            try Check.owned(op, by: self, t)
            try Check.float(op, t)
            try Check.shape(op, "state", t, [b, h4 / 4])
        }
        try Check.fitsInt32(op, gates)
        return (b, h4 / 4)
    }

    public func lstmGatesForward(gates: Tensor, previousCell: Tensor, cell: Tensor, hidden: Tensor) throws {
        let (b, h) = try lstmSizes("lstmGatesForward", gates: gates, [previousCell, cell, hidden])
        try launch(.lstmGates, "lstm_gates_forward", global: b * h,
                   [.tensor(gates), .tensor(previousCell), .tensor(cell), .tensor(hidden), .int(b), .int(h)])
    }

    public func lstmGatesBackward(gates: Tensor, previousCell: Tensor, cell: Tensor, gradHidden: Tensor,
                                  gradCell: Tensor, gradGates: Tensor) throws {
        let (b, h) = try lstmSizes("lstmGatesBackward", gates: gates, [previousCell, cell, gradHidden, gradCell])
        try Check.owned("lstmGatesBackward", by: self, gradGates)
        try Check.shape("lstmGatesBackward", "gradGates", gradGates, gates.shape)
        try launch(.lstmGates, "lstm_gates_backward", global: b * h,
                   [.tensor(gates), .tensor(previousCell), .tensor(cell), .tensor(gradHidden), .tensor(gradCell),
                    .tensor(gradGates), .int(b), .int(h)])
    }

    private func checkLengths(_ op: String, _ lengths: Tensor, batch: Int, step: Int) throws {
        try Check.owned(op, by: self, lengths)
        try Check.dtype(op, lengths, .int32)
        try Check.count(op, "lengths", lengths, batch)
        guard step >= 0, step <= Int(Int32.max) else { throw LoomError.invalidArgument("\(op): step \(step) is out of range") }
    }

    public func lstmGatesForward(gates: Tensor, previousCell: Tensor, previousHidden: Tensor, cell: Tensor,
                                 hidden: Tensor, lengths: Tensor, step: Int) throws {
        let op = "lstmGatesForward"
        let (b, h) = try lstmSizes(op, gates: gates, [previousCell, previousHidden, cell, hidden])
        try checkLengths(op, lengths, batch: b, step: step)
        try launch(.lstmGates, "lstm_gates_forward_masked", global: b * h,
                   [.tensor(gates), .tensor(previousCell), .tensor(previousHidden), .tensor(cell), .tensor(hidden),
                    .tensor(lengths), .int(step), .int(b), .int(h)])
    }

    public func lstmGatesBackward(gates: Tensor, previousCell: Tensor, cell: Tensor, gradHidden: Tensor,
                                  gradCell: Tensor, gradGates: Tensor, gradPreviousHidden: Tensor, lengths: Tensor,
                                  step: Int) throws {
        let op = "lstmGatesBackward"
        let (b, h) = try lstmSizes(op, gates: gates, [previousCell, cell, gradHidden, gradCell, gradPreviousHidden])
        try Check.owned(op, by: self, gradGates)
        try Check.shape(op, "gradGates", gradGates, gates.shape)
        try checkLengths(op, lengths, batch: b, step: step)
        try launch(.lstmGates, "lstm_gates_backward_masked", global: b * h,
                   [.tensor(gates), .tensor(previousCell), .tensor(cell), .tensor(gradHidden), .tensor(gradCell),
                    .tensor(gradGates), .tensor(gradPreviousHidden), .tensor(lengths), .int(step), .int(b), .int(h)])
    }

    public func sampledSoftmax(_ problem: SampledSoftmaxProblem, outputs o: SampledSoftmaxOutputs,
                               lossScale: Float) throws {
        let op = "sampledSoftmax"
        for t in problem.allTensors(with: o) { try Check.owned(op, by: self, t) }
        let (b, s, v, d) = try problem.sizes(with: o)
        try Check.fitsInt32(op, problem.weights, o.gradLogits)
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
        for t in problem.allTensors(with: o) { try Check.owned(op, by: self, t) }
        let (b, k, v, d) = try problem.sizes(with: o)
        try Check.fitsInt32(op, problem.weights, o.gradNegativeRows)
        let group = powerOfTwoGroup(try kernel(.negativeSampling, "negative_sampling_pair"), cap: max(32, min(128, d)))
        try launchRows(.negativeSampling, "negative_sampling_pair", rows: b, groupSize: group,
                       [.tensor(problem.inputs), .tensor(problem.targets), .tensor(problem.negatives),
                        .tensor(problem.weights), .tensor(o.losses), .tensor(o.gradInputs), .tensor(o.gradTargetRows),
                        .tensor(o.gradNegativeRows), .int(k), .int(d), .int(v), .float(lossScale), .errorWord,
                        .local(4 * (k + 1)), .local(4 * group)])
    }
}
