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
        parallelFor(b, grain: max(1, 4096 / max(h, 1))) { rows in
            for r in rows {
                let gi = g + r * 4 * h, gf = gi + h, go = gf + h, gg = go + h
                for k in 0..<h {
                    let i = 1 / (1 + expf(-gi[k]))
                    let fg = 1 / (1 + expf(-gf[k]))
                    let o = 1 / (1 + expf(-go[k]))
                    let cand = tanhf(gg[k])
                    gi[k] = i; gf[k] = fg; go[k] = o; gg[k] = cand
                    let ct = fg * cp[r * h + k] + i * cand
                    c[r * h + k] = ct
                    hs[r * h + k] = o * tanhf(ct)
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
        parallelFor(b, grain: max(1, 4096 / max(h, 1))) { rows in
            for r in rows {
                let gi = g + r * 4 * h, gf = gi + h, go = gf + h, gg = go + h
                let di = dg + r * 4 * h, df = di + h, dO = df + h, dgg = dO + h
                for k in 0..<h {
                    let n = r * h + k
                    let i = gi[k], fg = gf[k], o = go[k], cand = gg[k]
                    let tc = tanhf(c[n])
                    let dct = dc[n] + dh[n] * o * (1 - tc * tc)
                    di[k] = dct * cand * i * (1 - i)
                    df[k] = dct * cp[n] * fg * (1 - fg)
                    dO[k] = dh[n] * tc * o * (1 - o)
                    dgg[k] = dct * i * (1 - cand * cand)
                    dc[n] = dct * fg
                }
            }
        }
    }
}
