import LoomCore
import LoomKernels

extension OpenCLBackend {
    /// Work-group size for one-group-per-row kernels over rows of `columns`.
    private func rowGroup(_ name: String, _ family: KernelSources.Family, columns: Int) throws -> Int {
        // Small rows (27 characters) want small groups; long rows (50k words) want 256.
        powerOfTwoGroup(try kernel(family, name), cap: max(32, min(256, columns)))
    }

    public func softmax(_ logits: Tensor, into out: Tensor) throws {
        try Check.owned("softmax", by: self, logits, out)
        try Check.float("softmax", logits, out)
        let (n, c) = try Check.matrix("softmax", "logits", logits)
        try Check.shape("softmax", "out", out, logits.shape)
        try Check.fitsInt32("softmax", logits, out)
        guard c > 0 else { return }
        let group = try rowGroup("softmax_rows", .softmax, columns: c)
        try launchRows(.softmax, "softmax_rows", rows: n, groupSize: group,
                       [.tensor(logits), .tensor(out), .int(n), .int(c), .local(4 * group)])
    }

    public func softmaxCrossEntropy(_ logits: Tensor, labels: Tensor, probabilities: Tensor, losses: Tensor) throws {
        let op = "softmaxCrossEntropy"
        try Check.owned(op, by: self, logits, labels, probabilities, losses)
        try Check.float(op, logits, probabilities, losses)
        try Check.dtype(op, labels, .int32)
        let (n, c) = try Check.matrix(op, "logits", logits)
        try Check.shape(op, "probabilities", probabilities, logits.shape)
        try Check.count(op, "labels", labels, n)
        try Check.count(op, "losses", losses, n)
        try Check.fitsInt32(op, logits, probabilities)
        guard c > 0 else {
            if n > 0 { throw LoomError.shapeMismatch(op: op, detail: "logits have no classes") }
            return
        }
        let group = try rowGroup("softmax_xent", .softmax, columns: c)
        try launchRows(.softmax, "softmax_xent", rows: n, groupSize: group,
                       [.tensor(logits), .tensor(labels), .tensor(probabilities), .tensor(losses), .int(n), .int(c),
                        .errorWord, .local(4 * group)])
    }

    public func softmaxCrossEntropyBackward(probabilities: Tensor, labels: Tensor, into gradLogits: Tensor,
                                            scale: Float) throws {
        let op = "softmaxCrossEntropyBackward"
        try Check.owned(op, by: self, probabilities, labels, gradLogits)
        try Check.float(op, probabilities, gradLogits)
        try Check.dtype(op, labels, .int32)
        let (n, c) = try Check.matrix(op, "probabilities", probabilities)
        try Check.shape(op, "gradLogits", gradLogits, probabilities.shape)
        try Check.count(op, "labels", labels, n)
        try Check.fitsInt32(op, probabilities, gradLogits)
        try launch(.softmax, "softmax_xent_backward", global: n * c,
                   [.tensor(probabilities), .tensor(labels), .tensor(gradLogits), .int(n), .int(c), .float(scale),
                    .errorWord])
    }

    public func maskedSoftmax(_ logits: Tensor, lengths: Tensor, rowsPerLength: Int, into out: Tensor) throws {
        let op = "maskedSoftmax"
        try Check.owned(op, by: self, logits, lengths, out)
        let (n, c) = try Check.maskedSoftmax(logits, lengths: lengths, rowsPerLength: rowsPerLength, out: out)
        try Check.fitsInt32(op, logits, out)
        guard c > 0, n > 0 else { return }
        let group = try rowGroup("softmax_masked_rows", .softmax, columns: c)
        try launchRows(.softmax, "softmax_masked_rows", rows: n, groupSize: group,
                       [.tensor(logits), .tensor(lengths), .tensor(out), .int(n), .int(c), .int(rowsPerLength),
                        .errorWord, .local(4 * group)])
    }

    public func softmaxBackward(output: Tensor, gradOutput: Tensor, into gradInput: Tensor) throws {
        let op = "softmaxBackward"
        try Check.owned(op, by: self, output, gradOutput, gradInput)
        let (n, c) = try Check.softmaxBackward(output, gradOutput: gradOutput, gradInput: gradInput)
        try Check.fitsInt32(op, output, gradOutput, gradInput)
        guard c > 0, n > 0 else { return }
        let group = try rowGroup("softmax_backward_rows", .softmax, columns: c)
        try launchRows(.softmax, "softmax_backward_rows", rows: n, groupSize: group,
                       [.tensor(output), .tensor(gradOutput), .tensor(gradInput), .int(n), .int(c), .local(4 * group)])
    }
}
