import Foundation
import LoomCore

extension CPUBackend {
    public func negativeSampling(_ problem: NegativeSamplingProblem, outputs o: NegativeSamplingOutputs,
                                 lossScale: Float) throws {
        let op = "negativeSampling"
        try Check.owned(op, by: self, problem.allTensors(with: o))
        let sizes = try Check.negativeSampling(problem, outputs: o)
        try checkIDs(op, problem.targets, .row, bound: sizes.words)
        try checkIDs(op, problem.negatives, .row, bound: sizes.words)
        let (b, k, d) = (sizes.batch, sizes.negatives, sizes.dim)
        let h = f(problem.inputs), w = f(problem.weights)
        let targets = i32(problem.targets), negatives = i32(problem.negatives)
        let losses = f(o.losses), dh = f(o.gradInputs), dwt = f(o.gradTargetRows), dwn = f(o.gradNegativeRows)
        parallelFor(b, grain: max(1, 32_768 / max((k + 1) * d, 1))) { pairs in
            var scores = [Float](repeating: 0, count: k + 1)
            var grads = [Float](repeating: 0, count: k + 1)
            scores.withUnsafeMutableBufferPointer { sp in
                grads.withUnsafeMutableBufferPointer { gp in
                    let s = sp.baseAddress!, g = gp.baseAddress!
                    for i in pairs {
                        let hi = h + i * d, t = targets[i]
                        // Candidate 0 is the target (label 1), the rest negatives (label 0); a negative
                        // that is the target is skipped (gradient and loss 0), as word2vec does.
                        for j in 0...k {
                            let c = j == 0 ? t : negatives[i * k + j - 1]
                            s[j] = j > 0 && c == t ? .nan : Vector.dot(hi, w + Int(c) * d, d)
                        }
                        // σ(s) − label and softplus(∓s), 16 candidates at a time.
                        var loss: Float = 0
                        for j0 in stride(from: 0, through: k, by: 16) {
                            let n = min(16, k + 1 - j0)
                            var x = Vector.load(s, j0, count: n)
                            let skipped = x .!= x
                            x = x.replacing(with: 0, where: skipped)
                            var label = SIMD16<Float>()
                            if j0 == 0 { label[0] = 1 }
                            let sign = 1 - 2 * label                    // +1 negatives, −1 target
                            var l = Vector.softplus(sign * x)
                            var gradient = lossScale * (Vector.sigmoid(x) - label)
                            l = l.replacing(with: 0, where: skipped)
                            gradient = gradient.replacing(with: 0, where: skipped)
                            for lane in n..<16 { l[lane] = 0 }
                            loss += l.sum()
                            Vector.store(gradient, g, j0, count: n)
                        }
                        losses[i] = loss
                        let dhi = dh + i * d
                        Vector.scaled(g[0], w + Int(t) * d, dhi, d)
                        Vector.scaled(g[0], hi, dwt + i * d, d)
                        for j in 1...max(k, 1) where j <= k {
                            let c = Int(negatives[i * k + j - 1])
                            if g[j] != 0 { Vector.axpy(g[j], w + c * d, dhi, d) }
                            Vector.scaled(g[j], hi, dwn + (i * k + j - 1) * d, d)
                        }
                    }
                }
            }
        }
    }
}

extension Vector {
    @inline(__always) static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
}
