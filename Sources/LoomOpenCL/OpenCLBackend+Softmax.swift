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
        let s = try Check.softmax(logits, out: out)
        try Check.fitsInt32("softmax", logits, out)
        let (n, c) = (s.rows, s.columns)
        guard c > 0 else { return }
        let group = try rowGroup("softmax_rows", .softmax, columns: c)
        try launchRows(.softmax, "softmax_rows", rows: n, groupSize: group,
                       [.tensor(logits), .tensor(out), .int(n), .int(c), .local(4 * group)])
    }

    public func softmaxCrossEntropy(_ logits: Tensor, labels: Tensor, probabilities: Tensor, losses: Tensor) throws {
        let op = "softmaxCrossEntropy"
        try Check.owned(op, by: self, logits, labels, probabilities, losses)
        let s = try Check.softmaxCrossEntropy(logits, labels: labels, probabilities: probabilities, losses: losses)
        try Check.fitsInt32(op, logits, labels, probabilities, losses)
        // Labels are checked in the kernel (IDRule.classOrPadding) and reported at the next synchronize.
        let (n, c) = (s.rows, s.columns)
        guard n > 0 else { return }
        let group = try rowGroup("softmax_xent", .softmax, columns: c)
        try launchRows(.softmax, "softmax_xent", rows: n, groupSize: group,
                       [.tensor(logits), .tensor(labels), .tensor(probabilities), .tensor(losses), .int(n), .int(c),
                        .errorWord, .local(4 * group)])
    }

    public func softmaxCrossEntropyBackward(probabilities: Tensor, labels: Tensor, into gradLogits: Tensor,
                                            scale: Float) throws {
        let op = "softmaxCrossEntropyBackward"
        try Check.owned(op, by: self, probabilities, labels, gradLogits)
        let s = try Check.softmaxCrossEntropyBackward(probabilities: probabilities, labels: labels, gradLogits: gradLogits)
        try Check.fitsInt32(op, probabilities, labels, gradLogits)
        let (n, c) = (s.rows, s.columns)
        try launch(.softmax, "softmax_xent_backward", global: n * c,
                   [.tensor(probabilities), .tensor(labels), .tensor(gradLogits), .int(n), .int(c), .float(scale),
                    .errorWord])
    }

    public func maskedSoftmax(_ logits: Tensor, lengths: Tensor, rowsPerLength: Int, into out: Tensor) throws {
        let op = "maskedSoftmax"
        try Check.owned(op, by: self, logits, lengths, out)
        let s = try Check.maskedSoftmax(logits, lengths: lengths, rowsPerLength: rowsPerLength, out: out)
        try Check.fitsInt32(op, logits, lengths, out)
        // Lengths are checked in the kernel (IDRule.length) and reported at the next synchronize.
        let (n, c) = (s.rows, s.columns)
        guard c > 0, n > 0 else { return }
        let group = try rowGroup("softmax_masked_rows", .softmax, columns: c)
        try launchRows(.softmax, "softmax_masked_rows", rows: n, groupSize: group,
                       [.tensor(logits), .tensor(lengths), .tensor(out), .int(n), .int(c), .int(rowsPerLength),
                        .errorWord, .local(4 * group)])
    }

    public func softmaxBackward(output: Tensor, gradOutput: Tensor, into gradInput: Tensor) throws {
        let op = "softmaxBackward"
        try Check.owned(op, by: self, output, gradOutput, gradInput)
        let s = try Check.softmaxBackward(output, gradOutput: gradOutput, gradInput: gradInput)
        let (n, c) = (s.rows, s.columns)
        try Check.fitsInt32(op, output, gradOutput, gradInput)
        guard c > 0, n > 0 else { return }
        let group = try rowGroup("softmax_backward_rows", .softmax, columns: c)
        try launchRows(.softmax, "softmax_backward_rows", rows: n, groupSize: group,
                       [.tensor(output), .tensor(gradOutput), .tensor(gradInput), .int(n), .int(c), .local(4 * group)])
    }
}
