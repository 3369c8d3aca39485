import Foundation
import LoomCore

extension CPUBackend {
    public func negativeSampling(_ problem: NegativeSamplingProblem, outputs o: NegativeSamplingOutputs,
                                 lossScale: Float) throws {
        let op = "negativeSampling"
        for t in problem.allTensors(with: o) { try Check.owned(op, by: self, t) }
        let (b, k, v, d) = try problem.sizes(with: o)
        try checkIndices(op, problem.targets, bound: v)
        try checkIndices(op, problem.negatives, bound: v)
        let h = f(problem.inputs), w = f(problem.weights)
        let targets = i32(problem.targets), negatives = i32(problem.negatives)
        let losses = f(o.losses), dh = f(o.gradInputs), dwt = f(o.gradTargetRows), dwn = f(o.gradNegativeRows)
        parallelFor(b, grain: max(1, 32_768 / max((k + 1) * d, 1))) { pairs in
            for i in pairs {
                let hi = h + i * d, dhi = dh + i * d
                let t = Int(targets[i])
                // Target: −log σ(s), gradient σ(s) − 1.
                let st = Vector.dot(hi, w + t * d, d)
                var loss = Vector.softplus(-st)
                let gt = lossScale * (Vector.sigmoid(st) - 1)
                Vector.scaled(gt, w + t * d, dhi, d)
                Vector.scaled(gt, hi, dwt + i * d, d)
                // Negatives: −log σ(−s), gradient σ(s); a negative that is the target is skipped.
                for j in 0..<k {
                    let n = Int(negatives[i * k + j])
                    let row = dwn + (i * k + j) * d
                    if n == t {
                        row.update(repeating: 0, count: d)
                        continue
                    }
                    let s = Vector.dot(hi, w + n * d, d)
                    loss += Vector.softplus(s)
                    let g = lossScale * Vector.sigmoid(s)
                    Vector.axpy(g, w + n * d, dhi, d)
                    Vector.scaled(g, hi, row, d)
                }
                losses[i] = loss
            }
        }
    }
}

extension Vector {
    /// `log(1 + eˣ)` without overflow.
    @inline(__always) static func softplus(_ x: Float) -> Float { max(x, 0) + log1pf(expf(-abs(x))) }

    @inline(__always) static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
}
