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
    public func scatterAdd(_ rows: Tensor, indices: Tensor, into table: Tensor) throws {
        try Check.owned("scatterAdd", by: self, rows, indices, table)
        let (v, d) = try Check.matrix("scatterAdd", "table", table)
        try Check.float("scatterAdd", rows, table)
        try Check.dtype("scatterAdd", indices, .int32)
        try Check.shape("scatterAdd", "rows", rows, [indices.count, d])
        try Check.fitsInt32("scatterAdd", table, rows)
        try launch(.embedding, "scatter_add_rows", global: rows.count,
                   [.tensor(rows), .tensor(indices), .tensor(table), .int(indices.count), .int(d), .int(v), .errorWord])
    }
}
