import Foundation
import LoomCore

extension CPUBackend {
    public func applyUpdate(_ rule: UpdateRule, parameter: Tensor, gradient: Tensor, state: [Tensor],
                            rows: Tensor?) throws {
        let op = "applyUpdate"
        try Check.owned(op, by: self, [parameter, gradient] + state + (rows.map { [$0] } ?? []))
        let sizes = try Check.applyUpdate(rule, parameter: parameter, gradient: gradient, state: state, rows: rows)
        let kernel = UpdateKernel(rule: rule, parameter: f(parameter), gradient: f(gradient),
                                  state0: state.first.map(f), state1: state.count > 1 ? f(state[1]) : nil)
        guard let rows, sizes.isSparse else {
            parallelFor(sizes.elements, grain: 8192) { r in
                kernel.run(parameterStart: r.lowerBound, gradientStart: r.lowerBound, count: r.count)
            }
            return
        }
        try checkIDs(op, rows, .row, bound: sizes.parameterRows)
        let ids = i32(rows), d = sizes.dim
        parallelFor(sizes.rows, grain: max(1, 8192 / max(d, 1))) { r in
            for u in r { kernel.run(parameterStart: Int(ids[u]) * d, gradientStart: u * d, count: d) }
        }
    }
}

/// The update formulas of `UpdateRule` over a run of contiguous elements (a row, or a chunk of a
/// dense tensor): one switch per run, then a tight loop the compiler vectorises.
private struct UpdateKernel {
    let rule: UpdateRule
    let parameter: UnsafeMutablePointer<Float>
    let gradient: UnsafeMutablePointer<Float>
    let state0: UnsafeMutablePointer<Float>?
    let state1: UnsafeMutablePointer<Float>?

    func run(parameterStart: Int, gradientStart: Int, count: Int) {
        let p = parameter + parameterStart, g = gradient + gradientStart
        switch rule {
        case let .sgd(lr):
            for j in 0..<count { p[j] -= lr * g[j] }
        case let .momentum(lr, mu):
            let v = state0! + parameterStart
            for j in 0..<count {
                v[j] = mu * v[j] + g[j]
                p[j] -= lr * v[j]
            }
        case let .adagrad(lr, eps):
            let a = state0! + parameterStart
            for j in 0..<count {
                a[j] += g[j] * g[j]
                p[j] -= lr * g[j] / (a[j].squareRoot() + eps)
            }
        case let .adam(_, b1, b2, eps, _):
            let m = state0! + parameterStart, v = state1! + parameterStart
            let step = rule.adamStepSize
            for j in 0..<count {
                m[j] = b1 * m[j] + (1 - b1) * g[j]
                v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j]
                p[j] -= step * m[j] / (v[j].squareRoot() + eps)
            }
        }
    }
}
