import LoomCore
import LoomKernels

extension OpenCLBackend {
    public func applyUpdate(_ rule: UpdateRule, parameter: Tensor, gradient: Tensor, state: [Tensor],
                            rows: Tensor?) throws {
        let op = "applyUpdate"
        let tensors = [parameter, gradient] + state + (rows.map { [$0] } ?? [])
        try Check.owned(op, by: self, tensors)
        let sizes = try Check.applyUpdate(rule, parameter: parameter, gradient: gradient, state: state, rows: rows)
        try Check.fitsInt32(op, tensors)
        // Layout shared by every update kernel: p, g, rows, n, d, v, err, then the rule's own.
        var common: [Arg] = [.tensor(parameter), .tensor(gradient)]
        if let rows, sizes.isSparse {
            // Row ids are checked in the kernel (IDRule.row) and reported at the next synchronize.
            common += [.tensor(rows), .int(sizes.elements), .int(sizes.dim), .int(sizes.parameterRows), .errorWord]
        } else {
            // Dense: d = 0 and the rows argument is never read (the gradient stands in for it).
            let placeholder = Tensor(storage: gradient.storage, offset: 0, shape: [0], dtype: .int32)
            common += [.tensor(placeholder), .int(sizes.elements), .int(0), .int(0), .errorWord]
        }
        let n = sizes.elements
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
