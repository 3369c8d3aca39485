/// Argument checks shared by every backend, so each op rejects bad operands the same way
/// everywhere (and before any device work is enqueued).
public enum Check {
    public static func dtype(_ op: String, _ t: Tensor, _ expected: DType) throws {
        guard t.dtype == expected else { throw LoomError.dtypeMismatch(op: op, expected: expected, got: t.dtype) }
    }

    public static func float(_ op: String, _ tensors: Tensor...) throws {
        for t in tensors { try dtype(op, t, .float32) }
    }

    public static func owned(_ op: String, by backend: AnyObject, _ tensors: Tensor...) throws {
        let id = ObjectIdentifier(backend)
        for t in tensors where t.storage.owner != id { throw LoomError.wrongBackend(op: op) }
    }

    public static func sameCount(_ op: String, _ tensors: Tensor...) throws {
        guard let first = tensors.first else { return }
        for t in tensors.dropFirst() where t.count != first.count {
            throw LoomError.shapeMismatch(op: op, detail: "\(first.shape) and \(t.shape) differ in size")
        }
    }

    public static func shape(_ op: String, _ name: String, _ t: Tensor, _ expected: Shape) throws {
        guard t.shape == expected else {
            throw LoomError.shapeMismatch(op: op, detail: "\(name) is \(t.shape), expected \(expected)")
        }
    }

    public static func count(_ op: String, _ name: String, _ t: Tensor, _ expected: Int) throws {
        guard t.count == expected else {
            throw LoomError.shapeMismatch(op: op, detail: "\(name) has \(t.count) elements, expected \(expected)")
        }
    }

    public static func matrix(_ op: String, _ name: String, _ t: Tensor) throws -> (rows: Int, columns: Int) {
        guard t.shape.rank == 2 else {
            throw LoomError.shapeMismatch(op: op, detail: "\(name) must be a matrix, got \(t.shape)")
        }
        return (t.shape[0], t.shape[1])
    }

    public static func probability(_ op: String, _ p: Float) throws {
        guard p > 0 && p <= 1 else { throw LoomError.invalidArgument("\(op): keep probability \(p) not in (0, 1]") }
    }

    /// `maskedSoftmax`'s operands; returns (N, C). `N` rows split evenly into sequences, one length each.
    public static func maskedSoftmax(_ logits: Tensor, lengths: Tensor, rowsPerLength: Int, out: Tensor) throws -> (Int, Int) {
        let op = "maskedSoftmax"
        try float(op, logits, out)
        try dtype(op, lengths, .int32)
        let (rows, columns) = try matrix(op, "logits", logits)
        try shape(op, "out", out, logits.shape)
        guard rowsPerLength >= 1, rows % rowsPerLength == 0, lengths.count == rows / rowsPerLength else {
            throw LoomError.shapeMismatch(op: op, detail: "\(rows) rows, \(rowsPerLength) per length, \(lengths.count) lengths")
        }
        return (rows, columns)
    }

    /// `softmaxBackward`'s operands; returns (N, C).
    public static func softmaxBackward(_ output: Tensor, gradOutput: Tensor, gradInput: Tensor) throws -> (Int, Int) {
        let op = "softmaxBackward"
        try float(op, output, gradOutput, gradInput)
        let (n, c) = try matrix(op, "output", output)
        try shape(op, "gradOutput", gradOutput, output.shape)
        try shape(op, "gradInput", gradInput, output.shape)
        return (n, c)
    }

    /// Device kernels index with 32-bit integers.
    public static func fitsInt32(_ op: String, _ tensors: Tensor...) throws {
        for t in tensors where t.offset + t.count > Int(Int32.max) {
            throw LoomError.unsupported("\(op): \(t.shape) at offset \(t.offset) exceeds 2^31 elements")
        }
    }
}

/// Sizes of a (possibly batched) GEMM, derived from and checked against its operands.
public struct GemmSizes: Equatable, Sendable {
    public var batch, m, n, k: Int

    public init(batch: Int = 1, m: Int, n: Int, k: Int) {
        self.batch = batch; self.m = m; self.n = n; self.k = k
    }

    /// Checks the shapes of `c = op(a) · op(b)`; `batched` expects rank-3 operands.
    public static func resolve(_ op: String, _ a: Tensor, _ b: Tensor, _ c: Tensor,
                               transposeA: Bool, transposeB: Bool, batched: Bool) throws -> GemmSizes {
        try Check.float(op, a, b, c)
        let rank = batched ? 3 : 2
        for (name, t) in [("a", a), ("b", b), ("c", c)] where t.shape.rank != rank {
            throw LoomError.shapeMismatch(op: op, detail: "\(name) must have rank \(rank), got \(t.shape)")
        }
        let d = batched ? 1 : 0
        let batch = batched ? a.shape[0] : 1
        if batched && (b.shape[0] != batch || c.shape[0] != batch) {
            throw LoomError.shapeMismatch(op: op, detail: "batch sizes \(a.shape[0]), \(b.shape[0]), \(c.shape[0])")
        }
        let (m, k) = transposeA ? (a.shape[d + 1], a.shape[d]) : (a.shape[d], a.shape[d + 1])
        let (kb, n) = transposeB ? (b.shape[d + 1], b.shape[d]) : (b.shape[d], b.shape[d + 1])
        guard k == kb, c.shape[d] == m, c.shape[d + 1] == n else {
            throw LoomError.shapeMismatch(
                op: op, detail: "op(a) is \(m)×\(k), op(b) is \(kb)×\(n), c is \(c.shape[d])×\(c.shape[d + 1])")
        }
        return GemmSizes(batch: batch, m: m, n: n, k: k)
    }
}
