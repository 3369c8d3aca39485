import COpenBLAS
import Foundation
import LoomCore

extension CPUBackend {
    public func sampledSoftmax(_ problem: SampledSoftmaxProblem, outputs o: SampledSoftmaxOutputs,
                               lossScale: Float) throws {
        let op = "sampledSoftmax"
        for t in problem.allTensors(with: o) { try Check.owned(op, by: self, t) }
        let (b, s, v, d) = try problem.sizes(with: o)
        try checkIndices(op, problem.labels, bound: v)
        try checkIndices(op, problem.sampled, bound: v)
        let k = s + 1
        let h = f(problem.inputs), w = f(problem.weights), bias = f(problem.biases)
        let y = i32(problem.labels), ids = i32(problem.sampled)
        let lqy = f(problem.labelLogQ), lqs = f(problem.sampledLogQ)
        let losses = f(o.losses), dz = f(o.gradLogits), dh = f(o.gradInputs)
        let dwy = f(o.gradLabelRows), dby = f(o.gradLabelBiases)
        let removeHits = problem.removeAccidentalHits

        // Per example: logits over [label, sampled…], softmax, loss, and the gradients that belong to
        // the example alone (its input vector, its label's row and bias).
        parallelFor(b, grain: max(1, 65_536 / max(k * d, 1))) { examples in
            for i in examples {
                let hi = h + i * d, zi = dz + i * k, label = y[i]
                zi[0] = Vector.dot(hi, w + Int(label) * d, d) + bias[Int(label)] - lqy[i]
                for j in 0..<s {
                    let c = Int(ids[j])
                    var z = Vector.dot(hi, w + c * d, d) + bias[c] - lqs[j]
                    if removeHits && ids[j] == label { z += -Float.greatestFiniteMagnitude }
                    zi[1 + j] = z
                }
                let trueLogit = zi[0]
                // In place: the logits become probabilities.
                losses[i] = self.softmaxRow(zi, zi, k) - trueLogit
                for j in 0..<k { zi[j] *= lossScale }
                zi[0] -= lossScale
                let dhi = dh + i * d
                Vector.scaled(zi[0], w + Int(label) * d, dhi, d)
                for j in 0..<s where zi[1 + j] != 0 { Vector.axpy(zi[1 + j], w + Int(ids[j]) * d, dhi, d) }
                Vector.scaled(zi[0], hi, dwy + i * d, d)
                dby[i] = zi[0]
            }
        }

        // Sampled rows are shared by the batch: gradSampledRows (S, D) = dZ[:, 1...]ᵀ (S, B) · inputs (B, D).
        let dws = f(o.gradSampledRows), dbs = f(o.gradSampledBiases)
        if s > 0 && d > 0 {
            if b == 0 {
                dws.update(repeating: 0, count: s * d)
            } else {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(s), Int32(d), Int32(b), 1,
                            dz + 1, Int32(k), h, Int32(d), 0, dws, Int32(d))
            }
        }
        for j in 0..<s {
            var total = 0.0
            for i in 0..<b { total += Double(dz[i * k + 1 + j]) }
            dbs[j] = Float(total)
        }
    }
}
