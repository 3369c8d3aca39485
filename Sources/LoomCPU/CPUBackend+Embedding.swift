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
    public func scatterAdd(_ rows: Tensor, indices: Tensor, into table: Tensor, scale: Float) throws {
        try Check.owned("scatterAdd", by: self, rows, indices, table)
        let (v, d) = try Check.matrix("scatterAdd", "table", table)
        try Check.float("scatterAdd", rows, table)
        try Check.dtype("scatterAdd", indices, .int32)
        try Check.shape("scatterAdd", "rows", rows, [indices.count, d])
        try checkIndices("scatterAdd", indices, bound: v)
        let src = f(rows), idx = i32(indices), t = f(table)
        // Duplicate ids accumulate in index order, each addition a whole row.
        let n = indices.count
        forEachRowOwner(work: n * d) { part, parts in
            for i in 0..<n where Int(idx[i]) % parts == part {
                Vector.axpy(scale, src + i * d, t + Int(idx[i]) * d, d)
            }
        }
    }
}

extension CPUBackend {
    // table (V, D), ids (B, C) with −1 padding, out (B, D)
    public func embeddingBag(_ table: Tensor, ids: Tensor, into out: Tensor, mean: Bool) throws {
        let op = "embeddingBag"
        try Check.owned(op, by: self, table, ids, out)
        let (v, d) = try Check.matrix(op, "table", table)
        let (b, c) = try Check.matrix(op, "ids", ids)
        try Check.float(op, table, out)
        try Check.dtype(op, ids, .int32)
        try Check.shape(op, "out", out, [b, d])
        let idp = i32(ids)
        for n in 0..<ids.count where idp[n] >= Int32(v) {
            throw LoomError.indexOutOfRange(op: op, index: Int(idp[n]), bound: v)
        }
        let t = f(table), o = f(out)
        parallelFor(b, grain: max(1, 4096 / max(c * d, 1))) { bags in
            for bag in bags {
                let dst = o + bag * d
                dst.update(repeating: 0, count: d)
                var n = 0
                for j in 0..<c {
                    let id = idp[bag * c + j]
                    if id < 0 { continue }
                    Vector.axpy(1, t + Int(id) * d, dst, d)
                    n += 1
                }
                if mean && n > 1 { Vector.scaled(1 / Float(n), dst, dst, d) }
            }
        }
    }

    // gradOutput (B, D), slots (B, C) with −1 padding, gradRows (U, D)
    public func embeddingBagBackward(_ gradOutput: Tensor, slots: Tensor, into gradRows: Tensor, mean: Bool,
                                     scale: Float) throws {
        let op = "embeddingBagBackward"
        try Check.owned(op, by: self, gradOutput, slots, gradRows)
        let (u, d) = try Check.matrix(op, "gradRows", gradRows)
        let (b, c) = try Check.matrix(op, "slots", slots)
        try Check.float(op, gradOutput, gradRows)
        try Check.dtype(op, slots, .int32)
        try Check.shape(op, "gradOutput", gradOutput, [b, d])
        let sp = i32(slots)
        for n in 0..<slots.count where sp[n] >= Int32(u) {
            throw LoomError.indexOutOfRange(op: op, index: Int(sp[n]), bound: u)
        }
        let g = f(gradOutput), dst = f(gradRows)
        forEachRowOwner(work: b * c * d) { part, parts in
            for bag in 0..<b {
                var n = 0
                for j in 0..<c where sp[bag * c + j] >= 0 { n += 1 }
                if n == 0 { continue }
                let factor: Float = mean ? scale / Float(n) : scale
                for j in 0..<c {
                    let slot = Int(sp[bag * c + j])
                    if slot < 0 || slot % parts != part { continue }
                    Vector.axpy(factor, g + bag * d, dst + slot * d, d)
                }
            }
        }
    }

    // x, out (R, C)
    public func normalizeRows(_ x: Tensor, into out: Tensor) throws {
        try Check.owned("normalizeRows", by: self, x, out)
        try Check.float("normalizeRows", x, out)
        let (r, c) = try Check.matrix("normalizeRows", "x", x)
        try Check.shape("normalizeRows", "out", out, x.shape)
        let px = f(x), po = f(out)
        parallelFor(r, grain: max(1, 16_384 / max(c, 1))) { rows in
            for row in rows {
                let src = px + row * c
                let norm = Vector.dot(src, src, c).squareRoot()
                Vector.scaled(norm > 1e-12 ? 1 / norm : 0, src, po + row * c, c)
            }
        }
    }
}
