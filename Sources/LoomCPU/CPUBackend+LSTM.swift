import Foundation
import LoomCore
import _LoomCPUKernels

extension CPUBackend {
    /// Checks the operands of the fused LSTM ops and returns (B, H).
    func lstmSizes(_ op: String, gates: Tensor, _ others: Tensor...) throws -> (Int, Int) {
        try Check.owned(op, by: self, gates)
        try Check.float(op, gates)
        let (b, h4) = try Check.matrix(op, "gates", gates)
        guard h4 % 4 == 0 else { throw LoomError.shapeMismatch(op: op, detail: "gates \(gates.shape) is not (B, 4H)") }
        for t in others {
            try Check.owned(op, by: self, t)
            try Check.float(op, t)
            try Check.shape(op, "state", t, [b, h4 / 4])
        }
        return (b, h4 / 4)
    }

    // gates (B, 4H) [i f o g] in place, previousCell, cell, hidden (B, H)
    public func lstmGatesForward(gates: Tensor, previousCell: Tensor, cell: Tensor, hidden: Tensor) throws {
        let (b, h) = try lstmSizes("lstmGatesForward", gates: gates, previousCell, cell, hidden)
        let g = f(gates), cp = f(previousCell), c = f(cell), hs = f(hidden)
        // i, f, o = σ(·); g = tanh(·); c = f·c' + i·g; h = o·tanh(c) — see loom_lstm_forward.
        parallelFor(b, grain: max(1, 1024 / max(h, 1))) { rows in
            let r = rows.lowerBound
            loom_lstm_forward(g + r * 4 * h, cp + r * h, c + r * h, hs + r * h, rows.count, h)
        }
    }

    // gates (B, 4H) activations; previousCell, cell, gradHidden (B, H); gradCell (B, H) in/out;
    // gradGates (B, 4H) out
    public func lstmGatesBackward(gates: Tensor, previousCell: Tensor, cell: Tensor, gradHidden: Tensor,
                                  gradCell: Tensor, gradGates: Tensor) throws {
        let (b, h) = try lstmSizes("lstmGatesBackward", gates: gates, previousCell, cell, gradHidden, gradCell)
        try Check.owned("lstmGatesBackward", by: self, gradGates)
        try Check.shape("lstmGatesBackward", "gradGates", gradGates, gates.shape)
        let g = f(gates), cp = f(previousCell), c = f(cell), dh = f(gradHidden), dc = f(gradCell), dg = f(gradGates)
        parallelFor(b, grain: max(1, 1024 / max(h, 1))) { rows in
            let r = rows.lowerBound
            loom_lstm_backward(g + r * 4 * h, cp + r * h, c + r * h, dh + r * h, dc + r * h, dg + r * 4 * h, rows.count, h)
        }
    }
}

extension CPUBackend {
    /// Checks `lengths` (B) int32 of the variable-length LSTM ops.
    func checkLengths(_ op: String, _ lengths: Tensor, batch: Int, step: Int) throws {
        try Check.owned(op, by: self, lengths)
        try Check.dtype(op, lengths, .int32)
        try Check.count(op, "lengths", lengths, batch)
        guard step >= 0 else { throw LoomError.invalidArgument("\(op): step \(step) is negative") }
    }

    public func lstmGatesForward(gates: Tensor, previousCell: Tensor, previousHidden: Tensor, cell: Tensor,
                                 hidden: Tensor, lengths: Tensor, step: Int) throws {
        let op = "lstmGatesForward"
        let (b, h) = try lstmSizes(op, gates: gates, previousCell, previousHidden, cell, hidden)
        try checkLengths(op, lengths, batch: b, step: step)
        let g = f(gates), cp = f(previousCell), hp = f(previousHidden), c = f(cell), hs = f(hidden), len = i32(lengths)
        parallelFor(b, grain: max(1, 1024 / max(h, 1))) { rows in
            for r in rows {
                if step < Int(len[r]) {
                    loom_lstm_forward(g + r * 4 * h, cp + r * h, c + r * h, hs + r * h, 1, h)
                } else {
                    (c + r * h).update(from: cp + r * h, count: h)
                    (hs + r * h).update(from: hp + r * h, count: h)
                }
            }
        }
    }

    public func lstmGatesBackward(gates: Tensor, previousCell: Tensor, cell: Tensor, gradHidden: Tensor,
                                  gradCell: Tensor, gradGates: Tensor, gradPreviousHidden: Tensor, lengths: Tensor,
                                  step: Int) throws {
        let op = "lstmGatesBackward"
        let (b, h) = try lstmSizes(op, gates: gates, previousCell, cell, gradHidden, gradCell, gradPreviousHidden)
        try Check.owned(op, by: self, gradGates)
        try Check.shape(op, "gradGates", gradGates, gates.shape)
        try checkLengths(op, lengths, batch: b, step: step)
        let g = f(gates), cp = f(previousCell), c = f(cell), dh = f(gradHidden), dc = f(gradCell), dg = f(gradGates)
        let dhp = f(gradPreviousHidden), len = i32(lengths)
        parallelFor(b, grain: max(1, 1024 / max(h, 1))) { rows in
            for r in rows {
                if step < Int(len[r]) {
                    loom_lstm_backward(g + r * 4 * h, cp + r * h, c + r * h, dh + r * h, dc + r * h, dg + r * 4 * h, 1, h)
                } else {
                    (dg + r * 4 * h).update(repeating: 0, count: 4 * h)
                    loom_axpy(1, dh + r * h, dhp + r * h, h)
                }
            }
        }
    }
}
