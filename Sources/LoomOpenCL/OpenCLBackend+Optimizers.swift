import LoomCore
import LoomKernels

extension OpenCLBackend {
    public func applyUpdate(_ rule: UpdateRule, parameter: Tensor, gradient: Tensor, state: [Tensor],
                            rows: Tensor?) throws {
        let op = "applyUpdate"
        try Check.owned(op, by: self, parameter, gradient)
        try Check.float(op, parameter, gradient)
        try Check.fitsInt32(op, parameter, gradient)
        guard state.count == rule.stateCount else {
            throw LoomError.invalidArgument("\(op): \(rule) keeps \(rule.stateCount) state tensors, got \(state.count)")
        }
        for s in state {
            try Check.owned(op, by: self, s)
            try Check.float(op, s)
            try Check.sameCount(op, parameter, s)
        }
        // Layout shared by every update kernel: p, g, rows, n, d, v, err, then the rule's own.
        var common: [Arg] = [.tensor(parameter), .tensor(gradient)]
        if let rows {
            try Check.owned(op, by: self, rows)
            try Check.dtype(op, rows, .int32)
            let (v, d) = try Check.matrix(op, "parameter", parameter)
            try Check.shape(op, "gradient", gradient, [rows.count, d])
            common += [.tensor(rows), .int(gradient.count), .int(d), .int(v), .errorWord]
        } else {
            try Check.sameCount(op, parameter, gradient)
            // Dense: d = 0 and the rows argument is never read (the gradient stands in for it).
            let placeholder = Tensor(storage: gradient.storage, offset: 0, shape: [0], dtype: .int32)
            common += [.tensor(placeholder), .int(gradient.count), .int(0), .int(0), .errorWord]
        }
        let n = gradient.count
        switch rule {
        case let .sgd(lr):
            try launch(.optimizers, "sgd_update", global: n, common + [.float(lr)])
        case let .momentum(lr, mu):
            try launch(.optimizers, "momentum_update", global: n, common + [.float(lr), .float(mu), .tensor(state[0])])
        case let .adagrad(lr, eps):
            try launch(.optimizers, "adagrad_update", global: n, common + [.float(lr), .float(eps), .tensor(state[0])])
        case let .adam(_, b1, b2, eps, _):
            try launch(.optimizers, "adam_update", global: n,
                       common + [.float(rule.adamStepSize), .float(b1), .float(b2), .float(eps), .tensor(state[0]),
                                 .tensor(state[1])])
        }
    }
}
