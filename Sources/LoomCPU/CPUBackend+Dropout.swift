import LoomCore

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
        try Check.float(op, x, out)
        try Check.sameCount(op, x, out)
        try Check.probability(op, keep)
        let threshold = Philox.keepThreshold(keep)
        let inverse = 1 / keep
        let px = f(x), po = f(out)
        parallelFor(x.count, grain: 4096) { r in
            for i in r {
                let draw = Philox.word(index: UInt64(i), seed: seed, stream: stream) >> 8
                po[i] = draw < threshold ? px[i] * inverse : 0
            }
        }
    }
}
