import LoomCore
import LoomKernels

extension OpenCLBackend {
    // table (V, D), indices (N), out (N, D)
    public func gather(_ table: Tensor, indices: Tensor, into out: Tensor) throws {
        try Check.owned("gather", by: self, table, indices, out)
        let s = try Check.gather(table, indices: indices, out: out)
        try Check.fitsInt32("gather", table, indices, out)
        // Ids are checked in the kernel (IDRule.row) and reported at the next synchronize.
        try launch(.embedding, "gather_rows", global: out.count,
                   [.tensor(table), .tensor(indices), .tensor(out), .int(s.ids), .int(s.dim), .int(s.rows), .errorWord])
    }

    // rows (N, D), indices (N), table (V, D)
    public func scatterAdd(_ rows: Tensor, indices: Tensor, into table: Tensor, scale: Float) throws {
        try Check.owned("scatterAdd", by: self, rows, indices, table)
        let s = try Check.scatterAdd(rows, indices: indices, table: table)
        try Check.fitsInt32("scatterAdd", rows, indices, table)
        try launch(.embedding, "scatter_add_rows", global: rows.count,
                   [.tensor(rows), .tensor(indices), .tensor(table), .int(s.ids), .int(s.dim), .int(s.rows), .float(scale),
                    .errorWord])
    }
}

extension OpenCLBackend {
    public func embeddingBag(_ table: Tensor, ids: Tensor, into out: Tensor, mean: Bool) throws {
        let op = "embeddingBag"
        try Check.owned(op, by: self, table, ids, out)
        let s = try Check.embeddingBag(table, ids: ids, out: out)
        try Check.fitsInt32(op, table, ids, out)
        // Ids are checked in the kernel (IDRule.rowOrNegativePadding) and reported at the next synchronize.
        try launch(.embedding, "embedding_bag", global: s.bags * s.dim,
                   [.tensor(table), .tensor(ids), .tensor(out), .int(s.bags), .int(s.width), .int(s.dim), .int(s.rows),
                    .int(mean ? 1 : 0), .errorWord])
    }

    public func embeddingBagBackward(_ gradOutput: Tensor, slots: Tensor, into gradRows: Tensor, mean: Bool,
                                     scale: Float) throws {
        let op = "embeddingBagBackward"
        try Check.owned(op, by: self, gradOutput, slots, gradRows)
        let s = try Check.embeddingBagBackward(gradOutput, slots: slots, gradRows: gradRows)
        try Check.fitsInt32(op, gradOutput, slots, gradRows)
        try launch(.embedding, "embedding_bag_backward", global: s.bags * s.dim,
                   [.tensor(gradOutput), .tensor(slots), .tensor(gradRows), .int(s.bags), .int(s.width), .int(s.dim),
                    .int(s.rows), .int(mean ? 1 : 0), .float(scale), .errorWord])
    }

    public func normalizeRows(_ x: Tensor, into out: Tensor) throws {
        try Check.owned("normalizeRows", by: self, x, out)
        let s = try Check.normalizeRows(x, out: out)
        try Check.fitsInt32("normalizeRows", x, out)
        let (r, c) = (s.rows, s.columns)
        guard c > 0 else { return }
        let group = powerOfTwoGroup(try kernel(.embedding, "normalize_rows"), cap: max(32, min(256, c)))
        try launchRows(.embedding, "normalize_rows", rows: r, groupSize: group,
                       [.tensor(x), .tensor(out), .int(c), .local(4 * group)])
    }
}
