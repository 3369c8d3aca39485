/// Host conveniences built on the four memory primitives.
extension Backend {
    /// A new tensor holding `values`.
    public func tensor(_ values: [Float], shape: Shape? = nil) throws -> Tensor {
        let t = try allocate(shape ?? [values.count], dtype: .float32)
        try Check.count("tensor", "values", t, values.count)
        try values.withUnsafeBytes { try upload($0, to: t) }
        return t
    }

    /// A new int32 tensor holding `values`.
    public func tensor(_ values: [Int32], shape: Shape? = nil) throws -> Tensor {
        let t = try allocate(shape ?? [values.count], dtype: .int32)
        try Check.count("tensor", "values", t, values.count)
        try values.withUnsafeBytes { try upload($0, to: t) }
        return t
    }

    /// A new tensor of zeros.
    public func zeros(_ shape: Shape, dtype: DType = .float32) throws -> Tensor {
        let t = try allocate(shape, dtype: dtype)
        try fill(t, value: 0)
        return t
    }

    /// Uploads `values` into an existing float tensor of the same count.
    public func upload(_ values: [Float], to t: Tensor) throws {
        try Check.dtype("upload", t, .float32)
        try Check.count("upload", "values", t, values.count)
        try values.withUnsafeBytes { try upload($0, to: t) }
    }

    /// Uploads `values` into an existing int32 tensor of the same count.
    public func upload(_ values: [Int32], to t: Tensor) throws {
        try Check.dtype("upload", t, .int32)
        try Check.count("upload", "values", t, values.count)
        try values.withUnsafeBytes { try upload($0, to: t) }
    }

    /// The elements of a float tensor, copied to the host.
    public func floats(_ t: Tensor) throws -> [Float] {
        try Check.dtype("download", t, .float32)
        var out = [Float](repeating: 0, count: t.count)
        try out.withUnsafeMutableBytes { try download(t, into: $0) }
        return out
    }

    /// The elements of an int32 tensor, copied to the host.
    public func ints(_ t: Tensor) throws -> [Int32] {
        try Check.dtype("download", t, .int32)
        var out = [Int32](repeating: 0, count: t.count)
        try out.withUnsafeMutableBytes { try download(t, into: $0) }
        return out
    }

    /// The single element of a `(1)` float tensor.
    public func scalar(_ t: Tensor) throws -> Float {
        try Check.count("scalar", "tensor", t, 1)
        return try floats(t)[0]
    }

    /// `table[indices[n]] += rows[n]`.
    public func scatterAdd(_ rows: Tensor, indices: Tensor, into table: Tensor) throws {
        try scatterAdd(rows, indices: indices, into: table, scale: 1)
    }

    /// `gradRows[slots[b, j]] += gradOutput[b]` (÷ the bag's size when `mean`).
    public func embeddingBagBackward(_ gradOutput: Tensor, slots: Tensor, into gradRows: Tensor, mean: Bool) throws {
        try embeddingBagBackward(gradOutput, slots: slots, into: gradRows, mean: mean, scale: 1)
    }

    /// `c = op(a) · op(b)` with the common defaults.
    public func matmul(_ a: Tensor, _ b: Tensor, into c: Tensor, transposeA: Bool = false,
                       transposeB: Bool = false, accumulate: Bool = false) throws {
        try gemm(a, b, into: c, transposeA: transposeA, transposeB: transposeB,
                 alpha: 1, beta: accumulate ? 1 : 0)
    }
}
