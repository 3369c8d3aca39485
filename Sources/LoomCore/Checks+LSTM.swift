// Operand checks of the fused LSTM cell ops (see `Check`).

/// Sizes of the fused LSTM ops: a batch of `B` rows of `H` hidden units.
package struct LSTMSizes: Equatable, Sendable {
    /// B: rows of the batch.
    package var batch: Int
    /// H: hidden units (the gates are `4H` wide).
    package var hidden: Int
}

extension Check {
    /// `lstmGatesForward`: gates `(B, 4H)` float; previousCell, cell, hidden `(B, H)` float.
    package static func lstmGatesForward(gates: Tensor, previousCell: Tensor, cell: Tensor,
                                         hidden: Tensor) throws -> LSTMSizes {
        try lstmStates("lstmGatesForward", gates: gates,
                       [("previousCell", previousCell), ("cell", cell), ("hidden", hidden)])
    }

    /// The variable-length `lstmGatesForward`: as the plain one plus previousHidden `(B, H)`
    /// float, lengths `(B)` int32 (any values: a row steps while `step < length`), step in
    /// `0 ... Int32.max` (`invalidArgument` otherwise).
    package static func lstmGatesForward(gates: Tensor, previousCell: Tensor, previousHidden: Tensor, cell: Tensor,
                                         hidden: Tensor, lengths: Tensor, step: Int) throws -> LSTMSizes {
        let op = "lstmGatesForward"
        let s = try lstmStates(op, gates: gates, [("previousCell", previousCell), ("previousHidden", previousHidden),
                                                  ("cell", cell), ("hidden", hidden)])
        try lstmLengths(op, lengths, batch: s.batch, step: step)
        return s
    }

    /// `lstmGatesBackward`: gates `(B, 4H)` float; previousCell, cell, gradHidden, gradCell
    /// `(B, H)` float; gradGates `(B, 4H)` float.
    package static func lstmGatesBackward(gates: Tensor, previousCell: Tensor, cell: Tensor, gradHidden: Tensor,
                                          gradCell: Tensor, gradGates: Tensor) throws -> LSTMSizes {
        let op = "lstmGatesBackward"
        let s = try lstmStates(op, gates: gates, [("previousCell", previousCell), ("cell", cell),
                                                  ("gradHidden", gradHidden), ("gradCell", gradCell)])
        try dtype(op, gradGates, .float32)
        try shape(op, "gradGates", gradGates, gates.shape)
        return s
    }

    /// The variable-length `lstmGatesBackward`: as the plain one plus gradPreviousHidden `(B, H)`
    /// float, lengths `(B)` int32, step in `0 ... Int32.max`.
    package static func lstmGatesBackward(gates: Tensor, previousCell: Tensor, cell: Tensor, gradHidden: Tensor,
                                          gradCell: Tensor, gradGates: Tensor, gradPreviousHidden: Tensor,
                                          lengths: Tensor, step: Int) throws -> LSTMSizes {
        let op = "lstmGatesBackward"
        let s = try lstmStates(op, gates: gates, [("previousCell", previousCell), ("cell", cell),
                                                  ("gradHidden", gradHidden), ("gradCell", gradCell),
                                                  ("gradPreviousHidden", gradPreviousHidden)])
        try dtype(op, gradGates, .float32)
        try shape(op, "gradGates", gradGates, gates.shape)
        try lstmLengths(op, lengths, batch: s.batch, step: step)
        return s
    }

    /// gates `(B, 4H)` float and every state `(B, H)` float.
    private static func lstmStates(_ op: String, gates: Tensor, _ states: [(String, Tensor)]) throws -> LSTMSizes {
        try dtype(op, gates, .float32)
        let (b, h4) = try matrix(op, "gates", gates)
        guard h4 % 4 == 0 else { throw LoomError.shapeMismatch(op: op, detail: "gates \(gates.shape) is not (B, 4H)") }
        for (name, t) in states {
            try dtype(op, t, .float32)
            try shape(op, name, t, [b, h4 / 4])
        }
        return LSTMSizes(batch: b, hidden: h4 / 4)
    }

    /// lengths `(B)` int32; a step in `0 ... Int32.max`.
    private static func lstmLengths(_ op: String, _ lengths: Tensor, batch: Int, step: Int) throws {
        try dtype(op, lengths, .int32)
        try count(op, "lengths", lengths, batch)
        guard step >= 0, step <= Int(Int32.max) else { throw LoomError.invalidArgument("\(op): step \(step) is out of range") }
    }
}
