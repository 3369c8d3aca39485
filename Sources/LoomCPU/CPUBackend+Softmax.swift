import Foundation
import LoomCore
import _LoomCPUKernels

extension CPUBackend {
    /// Softmax of one row of `c` logits into `out` (which may be `z` itself); returns log Σ exp.
    @inline(__always)
    func softmaxRow(_ z: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ c: Int) -> Float {
        loom_softmax_row(z, out, c)
    }

    // logits, out: (N, C)
    public func softmax(_ logits: Tensor, into out: Tensor) throws {
        try Check.owned("softmax", by: self, logits, out)
        try Check.float("softmax", logits, out)
        let (n, c) = try Check.matrix("softmax", "logits", logits)
        try Check.shape("softmax", "out", out, logits.shape)
        let z = f(logits), o = f(out)
        parallelFor(n, grain: max(1, 8192 / max(c, 1))) { r in
            for i in r { _ = self.softmaxRow(z + i * c, o + i * c, c) }
        }
    }

    // logits (N, C), labels (N), probabilities (N, C), losses (N)
    public func softmaxCrossEntropy(_ logits: Tensor, labels: Tensor, probabilities: Tensor, losses: Tensor) throws {
        let op = "softmaxCrossEntropy"
        try Check.owned(op, by: self, logits, labels, probabilities, losses)
        try Check.float(op, logits, probabilities, losses)
        try Check.dtype(op, labels, .int32)
        let (n, c) = try Check.matrix(op, "logits", logits)
        try Check.shape(op, "probabilities", probabilities, logits.shape)
        try Check.count(op, "labels", labels, n)
        try Check.count(op, "losses", losses, n)
        try checkIndices(op, labels, bound: c)
        let z = f(logits), p = f(probabilities), y = i32(labels), l = f(losses)
        parallelFor(n, grain: max(1, 8192 / max(c, 1))) { r in
            for i in r {
                let logZ = self.softmaxRow(z + i * c, p + i * c, c)
                l[i] = logZ - z[i * c + Int(y[i])]
            }
        }
    }

    // probabilities (N, C), labels (N), gradLogits (N, C)
    public func softmaxCrossEntropyBackward(probabilities: Tensor, labels: Tensor, into gradLogits: Tensor,
                                            scale: Float) throws {
        let op = "softmaxCrossEntropyBackward"
        try Check.owned(op, by: self, probabilities, labels, gradLogits)
        try Check.float(op, probabilities, gradLogits)
        try Check.dtype(op, labels, .int32)
        let (n, c) = try Check.matrix(op, "probabilities", probabilities)
        try Check.shape(op, "gradLogits", gradLogits, probabilities.shape)
        try Check.count(op, "labels", labels, n)
        try checkIndices(op, labels, bound: c)
        let p = f(probabilities), y = i32(labels), g = f(gradLogits)
        parallelFor(n, grain: max(1, 16_384 / max(c, 1))) { r in
            for i in r {
                for j in 0..<c { g[i * c + j] = scale * p[i * c + j] }
                g[i * c + Int(y[i])] -= scale
            }
        }
    }
}
