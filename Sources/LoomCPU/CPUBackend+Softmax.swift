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
        let s = try Check.softmax(logits, out: out)
        let (n, c) = (s.rows, s.columns)
        let z = f(logits), o = f(out)
        parallelFor(n, grain: max(1, 8192 / max(c, 1))) { r in
            for i in r { _ = self.softmaxRow(z + i * c, o + i * c, c) }
        }
    }

    // logits (N, C), labels (N), probabilities (N, C), losses (N)
    public func softmaxCrossEntropy(_ logits: Tensor, labels: Tensor, probabilities: Tensor, losses: Tensor) throws {
        let op = "softmaxCrossEntropy"
        try Check.owned(op, by: self, logits, labels, probabilities, losses)
        let s = try Check.softmaxCrossEntropy(logits, labels: labels, probabilities: probabilities, losses: losses)
        let (n, c) = (s.rows, s.columns)
        try checkIDs(op, labels, .classOrPadding, bound: c)
        let z = f(logits), p = f(probabilities), y = i32(labels), l = f(losses)
        parallelFor(n, grain: max(1, 8192 / max(c, 1))) { r in
            for i in r {
                let logZ = self.softmaxRow(z + i * c, p + i * c, c)
                l[i] = y[i] < 0 ? 0 : logZ - z[i * c + Int(y[i])]
            }
        }
    }

    // probabilities (N, C), labels (N), gradLogits (N, C)
    public func softmaxCrossEntropyBackward(probabilities: Tensor, labels: Tensor, into gradLogits: Tensor,
                                            scale: Float) throws {
        let op = "softmaxCrossEntropyBackward"
        try Check.owned(op, by: self, probabilities, labels, gradLogits)
        let s = try Check.softmaxCrossEntropyBackward(probabilities: probabilities, labels: labels, gradLogits: gradLogits)
        let (n, c) = (s.rows, s.columns)
        try checkIDs(op, labels, .classOrPadding, bound: c)
        let p = f(probabilities), y = i32(labels), g = f(gradLogits)
        parallelFor(n, grain: max(1, 16_384 / max(c, 1))) { r in
            for i in r {
                guard y[i] >= 0 else {
                    for j in 0..<c { g[i * c + j] = 0 }
                    continue
                }
                for j in 0..<c { g[i * c + j] = scale * p[i * c + j] }
                g[i * c + Int(y[i])] -= scale
            }
        }
    }

    // logits, out (N, C); lengths (N / rowsPerLength)
    public func maskedSoftmax(_ logits: Tensor, lengths: Tensor, rowsPerLength: Int, into out: Tensor) throws {
        let op = "maskedSoftmax"
        try Check.owned(op, by: self, logits, lengths, out)
        let s = try Check.maskedSoftmax(logits, lengths: lengths, rowsPerLength: rowsPerLength, out: out)
        let (n, c) = (s.rows, s.columns)
        try checkIDs(op, lengths, .length, bound: c)
        let len = i32(lengths)
        let z = f(logits), o = f(out)
        parallelFor(n, grain: max(1, 8192 / max(c, 1))) { r in
            for i in r {
                let m = Int(len[i / rowsPerLength])
                if m > 0 { _ = self.softmaxRow(z + i * c, o + i * c, m) }
                for j in m..<c { o[i * c + j] = 0 }
            }
        }
    }

    // output, gradOutput, gradInput (N, C)
    public func softmaxBackward(output: Tensor, gradOutput: Tensor, into gradInput: Tensor) throws {
        try Check.owned("softmaxBackward", by: self, output, gradOutput, gradInput)
        let s = try Check.softmaxBackward(output, gradOutput: gradOutput, gradInput: gradInput)
        let (n, c) = (s.rows, s.columns)
        let y = f(output), g = f(gradOutput), d = f(gradInput)
        parallelFor(n, grain: max(1, 8192 / max(c, 1))) { r in
            for i in r {
                let dot = loom_dot(y + i * c, g + i * c, c)
                for j in 0..<c { d[i * c + j] = y[i * c + j] * (g[i * c + j] - dot) }
            }
        }
    }
}
