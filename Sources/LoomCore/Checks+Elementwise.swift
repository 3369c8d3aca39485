// Operand checks of the elementwise, dropout and reduction ops (see `Check`).

extension Check {
    /// The elementwise ops (`add`, `multiply`, `axpy`, `scale`, `sigmoid`, `tanh`, their backward,
    /// `relu`, `reluBackward`): every operand float and of the same count N (shapes may differ).
    /// Returns N.
    package static func elementwise(_ op: String, _ tensors: Tensor...) throws -> Int {
        try elementwise(op, tensors)
    }

    package static func elementwise(_ op: String, _ tensors: [Tensor]) throws -> Int {
        for t in tensors { try dtype(op, t, .float32) }
        guard let first = tensors.first else { return 0 }
        for t in tensors.dropFirst() where t.count != first.count {
            throw LoomError.shapeMismatch(op: op, detail: "\(first.shape) and \(t.shape) differ in size")
        }
        return first.count
    }

    /// `addRowVector`: vector `(C)` float, x `(R, C)` float.
    package static func addRowVector(_ vector: Tensor, x: Tensor) throws -> RowSizes {
        let op = "addRowVector"
        try float(op, vector, x)
        let (rows, columns) = try matrix(op, "x", x)
        try count(op, "vector", vector, columns)
        return RowSizes(rows: rows, columns: columns)
    }

    /// `sumRows`: x `(R, C)` float, out `(C)` float.
    package static func sumRows(_ x: Tensor, out: Tensor) throws -> RowSizes {
        let op = "sumRows"
        try float(op, x, out)
        let (rows, columns) = try matrix(op, "x", x)
        try count(op, "out", out, columns)
        return RowSizes(rows: rows, columns: columns)
    }

    /// `dropout` / `dropoutBackward`: x and out float of the same count N, the keep probability in
    /// `(0, 1]`. Returns N.
    package static func dropout(_ op: String, _ x: Tensor, out: Tensor, keepProbability: Float) throws -> Int {
        let n = try elementwise(op, x, out)
        try probability(op, keepProbability)
        return n
    }

    /// `sum` / `sumOfSquares`: x float (any shape, N elements), result `(1)` float. Returns N.
    package static func reduction(_ op: String, _ x: Tensor, result: Tensor) throws -> Int {
        try float(op, x, result)
        try count(op, "result", result, 1)
        return x.count
    }

    /// `clipByGlobalNorm`: x float (any shape, N elements), sumOfSquares `(1)` float, maxNorm
    /// above 0 (infinity never clips). Returns N.
    package static func clipByGlobalNorm(_ x: Tensor, sumOfSquares: Tensor, maxNorm: Float) throws -> Int {
        let op = "clipByGlobalNorm"
        try float(op, x, sumOfSquares)
        try count(op, "sumOfSquares", sumOfSquares, 1)
        guard maxNorm > 0 else { throw LoomError.invalidArgument("\(op): maxNorm \(maxNorm) must be above 0") }
        return x.count
    }
}
