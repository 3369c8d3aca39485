// Operand checks of the embedding ops (see `Check`). Id values are checked with `IDRule` where
// they live: `Check.ids` on the CPU before the op, in the kernel on OpenCL (reported at the next
// `synchronize`).

/// Sizes of `gather` and `scatterAdd`: `N` ids into a `(V, D)` table.
package struct GatherSizes: Equatable, Sendable {
    /// N: ids, and rows gathered or scattered.
    package var ids: Int
    /// V: rows of the table (each id must be below it).
    package var rows: Int
    /// D: elements per row.
    package var dim: Int
}

/// Sizes of `embeddingBag` and its backward: `B` bags of `C` id slots over a `(V, D)` table
/// (`(U, D)` gradient rows in the backward pass).
package struct BagSizes: Equatable, Sendable {
    /// B: bags.
    package var bags: Int
    /// C: id slots per bag (padding included).
    package var width: Int
    /// V (or U): rows of the table the ids index.
    package var rows: Int
    /// D: elements per row.
    package var dim: Int
}

extension Check {
    /// `gather`: table `(V, D)` float, indices `(N)` int32 (any shape of N elements; each id in
    /// `0 ..< V`, `IDRule.row`), out `(N, D)` float.
    package static func gather(_ table: Tensor, indices: Tensor, out: Tensor) throws -> GatherSizes {
        let op = "gather"
        let (v, d) = try matrix(op, "table", table)
        try float(op, table, out)
        try dtype(op, indices, .int32)
        try shape(op, "out", out, [indices.count, d])
        return GatherSizes(ids: indices.count, rows: v, dim: d)
    }

    /// `scatterAdd`: rows `(N, D)` float, indices `(N)` int32 (each in `0 ..< V`, `IDRule.row`),
    /// table `(V, D)` float.
    package static func scatterAdd(_ rows: Tensor, indices: Tensor, table: Tensor) throws -> GatherSizes {
        let op = "scatterAdd"
        let (v, d) = try matrix(op, "table", table)
        try float(op, rows, table)
        try dtype(op, indices, .int32)
        try shape(op, "rows", rows, [indices.count, d])
        return GatherSizes(ids: indices.count, rows: v, dim: d)
    }

    /// `embeddingBag`: table `(V, D)` float, ids `(B, C)` int32 (each below V; a negative id is
    /// padding, `IDRule.rowOrNegativePadding`), out `(B, D)` float.
    package static func embeddingBag(_ table: Tensor, ids: Tensor, out: Tensor) throws -> BagSizes {
        let op = "embeddingBag"
        let (v, d) = try matrix(op, "table", table)
        let (b, c) = try matrix(op, "ids", ids)
        try float(op, table, out)
        try dtype(op, ids, .int32)
        try shape(op, "out", out, [b, d])
        return BagSizes(bags: b, width: c, rows: v, dim: d)
    }

    /// `embeddingBagBackward`: gradOutput `(B, D)` float, slots `(B, C)` int32 (each below U, a
    /// negative slot is padding, `IDRule.rowOrNegativePadding`), gradRows `(U, D)` float.
    package static func embeddingBagBackward(_ gradOutput: Tensor, slots: Tensor, gradRows: Tensor) throws -> BagSizes {
        let op = "embeddingBagBackward"
        let (u, d) = try matrix(op, "gradRows", gradRows)
        let (b, c) = try matrix(op, "slots", slots)
        try float(op, gradOutput, gradRows)
        try dtype(op, slots, .int32)
        try shape(op, "gradOutput", gradOutput, [b, d])
        return BagSizes(bags: b, width: c, rows: u, dim: d)
    }

    /// `normalizeRows`: x `(R, C)` float, out `(R, C)` float.
    package static func normalizeRows(_ x: Tensor, out: Tensor) throws -> RowSizes {
        let op = "normalizeRows"
        try float(op, x, out)
        let (r, c) = try matrix(op, "x", x)
        try shape(op, "out", out, x.shape)
        return RowSizes(rows: r, columns: c)
    }
}
