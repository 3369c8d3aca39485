import Foundation
import LoomCore
import _LoomCPUKernels

extension CPUBackend {
    // gates (B, 4H) [i f o g] in place, previousCell, cell, hidden (B, H)
    public func lstmGatesForward(gates: Tensor, previousCell: Tensor, cell: Tensor, hidden: Tensor) throws {
        try Check.owned("lstmGatesForward", by: self, gates, previousCell, cell, hidden)
        let s = try Check.lstmGatesForward(gates: gates, previousCell: previousCell, cell: cell, hidden: hidden)
        let (b, h) = (s.batch, s.hidden)
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
        try Check.owned("lstmGatesBackward", by: self, gates, previousCell, cell, gradHidden, gradCell, gradGates)
        let s = try Check.lstmGatesBackward(gates: gates, previousCell: previousCell, cell: cell, gradHidden: gradHidden,
                                            gradCell: gradCell, gradGates: gradGates)
        let (b, h) = (s.batch, s.hidden)
        let g = f(gates), cp = f(previousCell), c = f(cell), dh = f(gradHidden), dc = f(gradCell), dg = f(gradGates)
        parallelFor(b, grain: max(1, 1024 / max(h, 1))) { rows in
            let r = rows.lowerBound
            loom_lstm_backward(g + r * 4 * h, cp + r * h, c + r * h, dh + r * h, dc + r * h, dg + r * 4 * h, rows.count, h)
        }
    }
}

extension CPUBackend {
    public func lstmGatesForward(gates: Tensor, previousCell: Tensor, previousHidden: Tensor, cell: Tensor,
                                 hidden: Tensor, lengths: Tensor, step: Int) throws {
        let op = "lstmGatesForward"
        try Check.owned(op, by: self, gates, previousCell, previousHidden, cell, hidden, lengths)
        let s = try Check.lstmGatesForward(gates: gates, previousCell: previousCell, previousHidden: previousHidden,
                                           cell: cell, hidden: hidden, lengths: lengths, step: step)
        let (b, h) = (s.batch, s.hidden)
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
        try Check.owned(op, by: self, gates, previousCell, cell, gradHidden, gradCell, gradGates, gradPreviousHidden, lengths)
        let s = try Check.lstmGatesBackward(gates: gates, previousCell: previousCell, cell: cell, gradHidden: gradHidden,
                                            gradCell: gradCell, gradGates: gradGates,
                                            gradPreviousHidden: gradPreviousHidden, lengths: lengths, step: step)
        let (b, h) = (s.batch, s.hidden)
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
