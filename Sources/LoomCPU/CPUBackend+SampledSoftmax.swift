import Foundation
import LoomCore

extension CPUBackend {
    /// The batch shares its sampled classes, so the sampled half is three small GEMMs:
    /// `Z_s = H·W_sᵀ`, `dH += dZ_s·W_s` and `dW_s = dZ_sᵀ·H`, with `W_s` the gathered sampled rows.
    /// The true class of each example is a dot product of its own.
    public func sampledSoftmax(_ problem: SampledSoftmaxProblem, outputs o: SampledSoftmaxOutputs,
                               lossScale: Float) throws {
        let op = "sampledSoftmax"
        try Check.owned(op, by: self, problem.allTensors(with: o))
        let sizes = try Check.sampledSoftmax(problem, outputs: o)
        try checkIDs(op, problem.labels, .row, bound: sizes.classes)
        try checkIDs(op, problem.sampled, .row, bound: sizes.classes)
        let (b, s, d) = (sizes.batch, sizes.sampled, sizes.dim)
        let k = s + 1
        let h = f(problem.inputs), w = f(problem.weights), bias = f(problem.biases)
        let y = i32(problem.labels), ids = i32(problem.sampled)
        let lqy = f(problem.labelLogQ), lqs = f(problem.sampledLogQ)
        let losses = f(o.losses), dz = f(o.gradLogits), dh = f(o.gradInputs)
        let dwy = f(o.gradLabelRows), dby = f(o.gradLabelBiases)
        let dws = f(o.gradSampledRows), dbs = f(o.gradSampledBiases)
        let removeHits = problem.removeAccidentalHits

        // W_s (S, D): the sampled rows, contiguous.
        let ws = scratch(s * d)
        for j in 0..<s { (ws + j * d).update(from: w + Int(ids[j]) * d, count: d) }
        // Z[:, 1...] = H · W_sᵀ, written straight into the (B, S + 1) logits buffer.
        sgemm(b, s, d, h, false, ws, true, dz + 1, ldc: k)

        // Per example: the true logit, corrections, softmax, loss, and dZ (scaled) in place.
        parallelFor(b, grain: max(1, 16_384 / max(k + d, 1))) { examples in
            for i in examples {
                let zi = dz + i * k, label = y[i]
                zi[0] = Vector.dot(h + i * d, w + Int(label) * d, d) + bias[Int(label)] - lqy[i]
                for j in 0..<s {
                    let c = Int(ids[j])
                    zi[1 + j] += bias[c] - lqs[j]
                    if removeHits && ids[j] == label { zi[1 + j] += -Float.greatestFiniteMagnitude }
                }
                let trueLogit = zi[0]
                losses[i] = self.softmaxRow(zi, zi, k) - trueLogit
                for j in 0..<k { zi[j] *= lossScale }
                zi[0] -= lossScale
                Vector.scaled(zi[0], h + i * d, dwy + i * d, d)
                dby[i] = zi[0]
            }
        }
        // dH = dZ_s · W_s, then + dz0·W[label] per example.
        sgemm(b, d, s, dz + 1, false, ws, false, dh, lda: k)
        for i in 0..<b { Vector.axpy(dz[i * k], w + Int(y[i]) * d, dh + i * d, d) }
        // dW_s = dZ_sᵀ · H; db_s = column sums of dZ_s.
        if b == 0 {
            dws.update(repeating: 0, count: s * d)
        } else {
            sgemm(s, d, b, dz + 1, true, h, false, dws, lda: k)
        }
        for j in 0..<s {
            var total = 0.0
            for i in 0..<b { total += Double(dz[i * k + 1 + j]) }
            dbs[j] = Float(total)
        }
    }
}
