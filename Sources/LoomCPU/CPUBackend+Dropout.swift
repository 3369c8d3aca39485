import LoomCore
import _LoomCPUKernels

extension CPUBackend {
    public func dropout(_ x: Tensor, into out: Tensor, keepProbability: Float, seed: UInt64, stream: UInt64) throws {
        try applyDropoutMask("dropout", x, out, keepProbability, seed, stream)
    }

    public func dropoutBackward(_ gradOutput: Tensor, into gradInput: Tensor, keepProbability: Float,
                                seed: UInt64, stream: UInt64) throws {
        // The mask is regenerated from (seed, stream, i): the backward pass is the same scaling.
        try applyDropoutMask("dropoutBackward", gradOutput, gradInput, keepProbability, seed, stream)
    }

    /// `out[i] = x[i] / keep` where the 24-bit Philox draw of element `i` falls under the threshold.
    private func applyDropoutMask(_ op: String, _ x: Tensor, _ out: Tensor, _ keep: Float,
                                  _ seed: UInt64, _ stream: UInt64) throws {
        try Check.owned(op, by: self, x, out)
        let n = try Check.dropout(op, x, out: out, keepProbability: keep)
        let threshold = Philox.keepThreshold(keep)
        let inverse = 1 / keep
        let px = f(x), po = f(out)
        // Eight Philox blocks at a time in C (`loom_dropout`); any chunk boundaries give the same mask.
        parallelFor(n, grain: 8192) { r in
            loom_dropout(px, po, r.lowerBound, r.upperBound, threshold, inverse, seed, stream)
        }
    }
}
