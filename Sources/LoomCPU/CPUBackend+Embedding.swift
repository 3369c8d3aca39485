import LoomCore

extension CPUBackend {
    // table (V, D), indices (N), out (N, D)
    public func gather(_ table: Tensor, indices: Tensor, into out: Tensor) throws {
        try Check.owned("gather", by: self, table, indices, out)
        let (v, d) = try Check.matrix("gather", "table", table)
        try Check.float("gather", table, out)
        try Check.dtype("gather", indices, .int32)
        try Check.shape("gather", "out", out, [indices.count, d])
        try checkIndices("gather", indices, bound: v)
        let t = f(table), idx = i32(indices), o = f(out)
        parallelFor(indices.count, grain: max(1, 16_384 / max(d, 1))) { r in
            for n in r { (o + n * d).update(from: t + Int(idx[n]) * d, count: d) }
        }
    }

    // rows (N, D), indices (N), table (V, D): table[indices[n]] += rows[n]
    public func scatterAdd(_ rows: Tensor, indices: Tensor, into table: Tensor) throws {
        try Check.owned("scatterAdd", by: self, rows, indices, table)
        let (v, d) = try Check.matrix("scatterAdd", "table", table)
        try Check.float("scatterAdd", rows, table)
        try Check.dtype("scatterAdd", indices, .int32)
        try Check.shape("scatterAdd", "rows", rows, [indices.count, d])
        try checkIndices("scatterAdd", indices, bound: v)
        let src = f(rows), idx = i32(indices), t = f(table)
        // Threads split the columns, so two threads never add into the same element and
        // duplicate ids accumulate in index order, deterministically.
        parallelFor(d, grain: max(1, 16_384 / max(indices.count, 1))) { cols in
            for n in 0..<indices.count {
                let dst = t + Int(idx[n]) * d, s = src + n * d
                for j in cols { dst[j] += s[j] }
            }
        }
    }
}
