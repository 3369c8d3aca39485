// Operand checks of `applyUpdate` (see `Check`).

/// Sizes of one `applyUpdate`.
package struct UpdateSizes: Equatable, Sendable {
    /// Gradient elements, one per parameter element updated: the parameter's count when dense,
    /// U·D when sparse.
    package var elements: Int
    /// Whether the update is on a list of rows.
    package var isSparse: Bool
    /// Sparse: U, the rows updated (0 when dense).
    package var rows: Int
    /// Sparse: V, the parameter's rows (each row id must be below it; 0 when dense).
    package var parameterRows: Int
    /// Sparse: D, elements per row (0 when dense).
    package var dim: Int
}

extension Check {
    /// `applyUpdate`: parameter and gradient float; `rule.stateCount` state tensors, float, each
    /// of the parameter's count (a wrong number is `invalidArgument`). Dense (`rows` nil): the
    /// gradient has the parameter's count. Sparse: parameter `(V, D)`, rows `(U)` int32 (each in
    /// `0 ..< V`, `IDRule.row`; that they are distinct is the caller's promise, not checked),
    /// gradient `(U, D)`.
    package static func applyUpdate(_ rule: UpdateRule, parameter: Tensor, gradient: Tensor, state: [Tensor],
                                    rows: Tensor?) throws -> UpdateSizes {
        let op = "applyUpdate"
        try float(op, parameter, gradient)
        guard state.count == rule.stateCount else {
            throw LoomError.invalidArgument("\(op): \(rule) keeps \(rule.stateCount) state tensors, got \(state.count)")
        }
        for s in state {
            try dtype(op, s, .float32)
            try count(op, "state", s, parameter.count)
        }
        guard let rows else {
            try count(op, "gradient", gradient, parameter.count)
            return UpdateSizes(elements: gradient.count, isSparse: false, rows: 0, parameterRows: 0, dim: 0)
        }
        try dtype(op, rows, .int32)
        let (v, d) = try matrix(op, "parameter", parameter)
        try shape(op, "gradient", gradient, [rows.count, d])
        return UpdateSizes(elements: gradient.count, isSparse: true, rows: rows.count, parameterRows: v, dim: d)
    }
}
