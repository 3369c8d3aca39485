import LoomCore

extension CPUBackend {
    // table (V, D), indices (N), out (N, D)
    public func gather(_ table: Tensor, indices: Tensor, into out: Tensor) throws {
        try Check.owned("gather", by: self, table, indices, out)
        let s = try Check.gather(table, indices: indices, out: out)
        try checkIDs("gather", indices, .row, bound: s.rows)
        let d = s.dim
        let t = f(table), idx = i32(indices), o = f(out)
        parallelFor(s.ids, grain: max(1, 16_384 / max(d, 1))) { r in
            for n in r { (o + n * d).update(from: t + Int(idx[n]) * d, count: d) }
        }
    }

    // rows (N, D), indices (N), table (V, D): table[indices[n]] += rows[n]
    public func scatterAdd(_ rows: Tensor, indices: Tensor, into table: Tensor, scale: Float) throws {
        try Check.owned("scatterAdd", by: self, rows, indices, table)
        let s = try Check.scatterAdd(rows, indices: indices, table: table)
        try checkIDs("scatterAdd", indices, .row, bound: s.rows)
        let src = f(rows), idx = i32(indices), t = f(table)
        // Duplicate ids accumulate in index order, each addition a whole row.
        let n = s.ids, d = s.dim
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
        let s = try Check.embeddingBag(table, ids: ids, out: out)
        try checkIDs(op, ids, .rowOrNegativePadding, bound: s.rows)
        let (b, c, d) = (s.bags, s.width, s.dim)
        let idp = i32(ids), t = f(table), o = f(out)
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
        let s = try Check.embeddingBagBackward(gradOutput, slots: slots, gradRows: gradRows)
        try checkIDs(op, slots, .rowOrNegativePadding, bound: s.rows)
        let (b, c, d) = (s.bags, s.width, s.dim)
        let sp = i32(slots), g = f(gradOutput), dst = f(gradRows)
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
        let s = try Check.normalizeRows(x, out: out)
        let (r, c) = (s.rows, s.columns)
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
