import Foundation
import LoomCore

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
        parallelFor(b, grain: max(1, 8192 / max(h, 1))) { rows in
            for r in rows {
                let gi = g + r * 4 * h, gf = gi + h, go = gf + h, gg = go + h
                let base = r * h
                // 16 units at a time: i, f, o = σ(·); g = tanh(·); c = f·c' + i·g; h = o·tanh(c).
                for k in stride(from: 0, to: h, by: 16) {
                    let n = min(16, h - k)
                    let i = Vector.sigmoid(Vector.load(gi, k, count: n))
                    let fg = Vector.sigmoid(Vector.load(gf, k, count: n))
                    let o = Vector.sigmoid(Vector.load(go, k, count: n))
                    let cand = Vector.tanh(Vector.load(gg, k, count: n))
                    let ct = fg * Vector.load(cp, base + k, count: n) + i * cand
                    Vector.store(i, gi, k, count: n)
                    Vector.store(fg, gf, k, count: n)
                    Vector.store(o, go, k, count: n)
                    Vector.store(cand, gg, k, count: n)
                    Vector.store(ct, c, base + k, count: n)
                    Vector.store(o * Vector.tanh(ct), hs, base + k, count: n)
                }
            }
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
        parallelFor(b, grain: max(1, 8192 / max(h, 1))) { rows in
            for r in rows {
                let gi = g + r * 4 * h, gf = gi + h, go = gf + h, gg = go + h
                let di = dg + r * 4 * h, df = di + h, dO = df + h, dgg = dO + h
                let base = r * h
                for k in stride(from: 0, to: h, by: 16) {
                    let n = min(16, h - k)
                    let i = Vector.load(gi, k, count: n), fg = Vector.load(gf, k, count: n)
                    let o = Vector.load(go, k, count: n), cand = Vector.load(gg, k, count: n)
                    let tc = Vector.tanh(Vector.load(c, base + k, count: n))
                    let dhk = Vector.load(dh, base + k, count: n)
                    let dct = Vector.load(dc, base + k, count: n) + dhk * o * (1 - tc * tc)
                    Vector.store(dct * cand * i * (1 - i), di, k, count: n)
                    Vector.store(dct * Vector.load(cp, base + k, count: n) * fg * (1 - fg), df, k, count: n)
                    Vector.store(dhk * tc * o * (1 - o), dO, k, count: n)
                    Vector.store(dct * i * (1 - cand * cand), dgg, k, count: n)
                    Vector.store(dct * fg, dc, base + k, count: n)
                }
            }
        }
    }
}
