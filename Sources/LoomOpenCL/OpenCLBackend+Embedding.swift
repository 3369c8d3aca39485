import LoomCore
import LoomKernels

extension OpenCLBackend {
    // table (V, D), indices (N), out (N, D)
    public func gather(_ table: Tensor, indices: Tensor, into out: Tensor) throws {
        try Check.owned("gather", by: self, table, indices, out)
        let (v, d) = try Check.matrix("gather", "table", table)
        try Check.float("gather", table, out)
        try Check.dtype("gather", indices, .int32)
        try Check.shape("gather", "out", out, [indices.count, d])
        try Check.fitsInt32("gather", table, out)
        try launch(.embedding, "gather_rows", global: out.count,
                   [.tensor(table), .tensor(indices), .tensor(out), .int(indices.count), .int(d), .int(v), .errorWord])
    }

    // rows (N, D), indices (N), table (V, D)
    public func scatterAdd(_ rows: Tensor, indices: Tensor, into table: Tensor, scale: Float) throws {
        try Check.owned("scatterAdd", by: self, rows, indices, table)
        let (v, d) = try Check.matrix("scatterAdd", "table", table)
        try Check.float("scatterAdd", rows, table)
        try Check.dtype("scatterAdd", indices, .int32)
        try Check.shape("scatterAdd", "rows", rows, [indices.count, d])
        try Check.fitsInt32("scatterAdd", table, rows)
        try launch(.embedding, "scatter_add_rows", global: rows.count,
                   [.tensor(rows), .tensor(indices), .tensor(table), .int(indices.count), .int(d), .int(v), .float(scale),
                    .errorWord])
    }
}

extension OpenCLBackend {
    public func embeddingBag(_ table: Tensor, ids: Tensor, into out: Tensor, mean: Bool) throws {
        let op = "embeddingBag"
        try Check.owned(op, by: self, table, ids, out)
        let (v, d) = try Check.matrix(op, "table", table)
        let (b, c) = try Check.matrix(op, "ids", ids)
        try Check.float(op, table, out)
        try Check.dtype(op, ids, .int32)
        try Check.shape(op, "out", out, [b, d])
        try Check.fitsInt32(op, table, out, ids)
        try launch(.embedding, "embedding_bag", global: b * d,
                   [.tensor(table), .tensor(ids), .tensor(out), .int(b), .int(c), .int(d), .int(v), .int(mean ? 1 : 0),
                    .errorWord])
    }

    public func embeddingBagBackward(_ gradOutput: Tensor, slots: Tensor, into gradRows: Tensor, mean: Bool,
                                     scale: Float) throws {
        let op = "embeddingBagBackward"
        try Check.owned(op, by: self, gradOutput, slots, gradRows)
        let (u, d) = try Check.matrix(op, "gradRows", gradRows)
        let (b, c) = try Check.matrix(op, "slots", slots)
        try Check.float(op, gradOutput, gradRows)
        try Check.dtype(op, slots, .int32)
        try Check.shape(op, "gradOutput", gradOutput, [b, d])
        try Check.fitsInt32(op, gradRows, gradOutput, slots)
        try launch(.embedding, "embedding_bag_backward", global: b * d,
                   [.tensor(gradOutput), .tensor(slots), .tensor(gradRows), .int(b), .int(c), .int(d), .int(u),
                    .int(mean ? 1 : 0), .float(scale), .errorWord])
    }

    public func normalizeRows(_ x: Tensor, into out: Tensor) throws {
        try Check.owned("normalizeRows", by: self, x, out)
        try Check.float("normalizeRows", x, out)
        let (r, c) = try Check.matrix("normalizeRows", "x", x)
        try Check.shape("normalizeRows", "out", out, x.shape)
        try Check.fitsInt32("normalizeRows", x, out)
        guard c > 0 else { return }
        let group = powerOfTwoGroup(try kernel(.embedding, "normalize_rows"), cap: max(32, min(256, c)))
        try launchRows(.embedding, "normalize_rows", rows: r, groupSize: group,
                       [.tensor(x), .tensor(out), .int(c), .local(4 * group)])
    }
}
