// Operand checks of the softmax ops (see `Check`). Labels and lengths are checked with `IDRule`
// where they live: `Check.ids` on the CPU before the op, in the kernel on OpenCL (reported at the
// next `synchronize`).

extension Check {
    /// `softmax`: logits `(N, C)` float, out `(N, C)` float.
    package static func softmax(_ logits: Tensor, out: Tensor) throws -> RowSizes {
        let op = "softmax"
        try float(op, logits, out)
        let (n, c) = try matrix(op, "logits", logits)
        try shape(op, "out", out, logits.shape)
        return RowSizes(rows: n, columns: c)
    }

    /// `softmaxCrossEntropy`: logits `(N, C)` float with C ≥ 1 (unless N is 0), labels `(N)`
    /// int32 (each in `0 ..< C` or −1, `IDRule.classOrPadding`), probabilities `(N, C)` float,
    /// losses `(N)` float.
    package static func softmaxCrossEntropy(_ logits: Tensor, labels: Tensor, probabilities: Tensor,
                                            losses: Tensor) throws -> RowSizes {
        let op = "softmaxCrossEntropy"
        try float(op, logits, probabilities, losses)
        try dtype(op, labels, .int32)
        let (n, c) = try matrix(op, "logits", logits)
        try shape(op, "probabilities", probabilities, logits.shape)
        try count(op, "labels", labels, n)
        try count(op, "losses", losses, n)
        try hasClasses(op, "logits", rows: n, columns: c)
        return RowSizes(rows: n, columns: c)
    }

    /// `softmaxCrossEntropyBackward`: probabilities `(N, C)` float with C ≥ 1 (unless N is 0),
    /// labels `(N)` int32 (each in `0 ..< C` or −1, `IDRule.classOrPadding`), gradLogits `(N, C)`
    /// float.
    package static func softmaxCrossEntropyBackward(probabilities: Tensor, labels: Tensor,
                                                    gradLogits: Tensor) throws -> RowSizes {
        let op = "softmaxCrossEntropyBackward"
        try float(op, probabilities, gradLogits)
        try dtype(op, labels, .int32)
        let (n, c) = try matrix(op, "probabilities", probabilities)
        try shape(op, "gradLogits", gradLogits, probabilities.shape)
        try count(op, "labels", labels, n)
        try hasClasses(op, "probabilities", rows: n, columns: c)
        return RowSizes(rows: n, columns: c)
    }

    /// `maskedSoftmax`: logits `(N, C)` float, out `(N, C)` float, lengths `(N / rowsPerLength)`
    /// int32 (each in `0 ... C`, `IDRule.length`); `N` rows split evenly into sequences of
    /// `rowsPerLength` ≥ 1 rows, one length each.
    package static func maskedSoftmax(_ logits: Tensor, lengths: Tensor, rowsPerLength: Int, out: Tensor) throws -> RowSizes {
        let op = "maskedSoftmax"
        try float(op, logits, out)
        try dtype(op, lengths, .int32)
        let (rows, columns) = try matrix(op, "logits", logits)
        try shape(op, "out", out, logits.shape)
        guard rowsPerLength >= 1, rows % rowsPerLength == 0, lengths.count == rows / rowsPerLength else {
            throw LoomError.shapeMismatch(op: op, detail: "\(rows) rows, \(rowsPerLength) per length, \(lengths.count) lengths")
        }
        return RowSizes(rows: rows, columns: columns)
    }

    /// `softmaxBackward`: output, gradOutput, gradInput `(N, C)` float.
    package static func softmaxBackward(_ output: Tensor, gradOutput: Tensor, gradInput: Tensor) throws -> RowSizes {
        let op = "softmaxBackward"
        try float(op, output, gradOutput, gradInput)
        let (n, c) = try matrix(op, "output", output)
        try shape(op, "gradOutput", gradOutput, output.shape)
        try shape(op, "gradInput", gradInput, output.shape)
        return RowSizes(rows: n, columns: c)
    }

    /// Rows of a distribution need at least one class.
    private static func hasClasses(_ op: String, _ name: String, rows: Int, columns: Int) throws {
        guard columns > 0 || rows == 0 else {
            throw LoomError.shapeMismatch(op: op, detail: "\(name) (\(rows), 0) have no classes")
        }
    }
}
