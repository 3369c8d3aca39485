import LoomCore
import LoomKernels

extension OpenCLBackend {
    public func dropout(_ x: Tensor, into out: Tensor, keepProbability: Float, seed: UInt64, stream: UInt64) throws {
        try applyDropoutMask("dropout", x, out, keepProbability, seed, stream)
    }

    public func dropoutBackward(_ gradOutput: Tensor, into gradInput: Tensor, keepProbability: Float,
                                seed: UInt64, stream: UInt64) throws {
        try applyDropoutMask("dropoutBackward", gradOutput, gradInput, keepProbability, seed, stream)
    }

    private func applyDropoutMask(_ op: String, _ x: Tensor, _ out: Tensor, _ keep: Float,
                                  _ seed: UInt64, _ stream: UInt64) throws {
        try Check.owned(op, by: self, x, out)
        let n = try Check.dropout(op, x, out: out, keepProbability: keep)
        try Check.fitsInt32(op, x, out)
        try launch(.dropout, "dropout_apply", global: n,
                   [.tensor(x), .tensor(out), .int(n), .uint(Philox.keepThreshold(keep)), .float(1 / keep),
                    .ulong(seed), .ulong(stream)])
    }
}
