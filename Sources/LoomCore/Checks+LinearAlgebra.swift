// Operand checks of the linear-algebra ops (see `Check`).

/// Sizes of a (possibly batched) GEMM, derived from and checked against its operands.
package struct GemmSizes: Equatable, Sendable {
    package var batch, m, n, k: Int

    package init(batch: Int = 1, m: Int, n: Int, k: Int) {
        self.batch = batch; self.m = m; self.n = n; self.k = k
    }

    /// `gemm` / `batchedGemm`: `c = op(a) · op(b)`, all float; `a` `(M, K)` (`(K, M)` with
    /// `transposeA`), `b` `(K, N)` (`(N, K)` with `transposeB`), `c` `(M, N)`; `batched` expects
    /// rank-3 operands with the same leading batch size.
    package static func resolve(_ op: String, _ a: Tensor, _ b: Tensor, _ c: Tensor,
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
