import Foundation
import Loom
import XCTest

/// The shared layers: the LSTM stack's input and initial-state gradients against finite
/// differences of a double-precision reference, variable lengths against sequences run alone,
/// attention's gradients, and the layers on OpenCL against the CPU.
final class LayerTests: XCTestCase {
    let be = TestBackends.cpu

    /// Everything a small stack test needs, on the host in doubles.
    struct StackCase {
        var layers = 2, batch = 3, steps = 3, input = 4, hidden = 3
        var lengths: [Int32] = [3, 1, 2]
        var x: [Double] = [], c0: [[Double]] = [], h0: [[Double]] = []
        var params: [[Double]] = []   // per layer: wx, wh, b
        var r: [Double] = [], rc: [[Double]] = [], rh: [[Double]] = []

        init(seed: UInt64) {
            var d = TestData(seed: seed)
            func u(_ n: Int) -> [Double] { d.uniform(n).map(Double.init) }
            x = u(steps * batch * input)
            c0 = (0..<layers).map { _ in u(batch * hidden) }
            h0 = (0..<layers).map { _ in u(batch * hidden) }
            for l in 0..<layers {
                params.append(u((l == 0 ? input : hidden) * 4 * hidden))
                params.append(u(hidden * 4 * hidden))
                params.append(u(4 * hidden))
            }
            r = u(steps * batch * hidden)
            rc = (0..<layers).map { _ in u(batch * hidden) }
            rh = (0..<layers).map { _ in u(batch * hidden) }
        }

        func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

        /// L = Σ r ⊙ top outputs + Σ_l (rc_l ⊙ c_T + rh_l ⊙ h_T), with ended rows keeping their state.
        func loss(x: [Double], c0: [[Double]], h0: [[Double]], params: [[Double]]) -> Double {
            var input = x, width = self.input, total = 0.0
            var out: [Double] = []
            for l in 0..<layers {
                let wx = params[3 * l], wh = params[3 * l + 1], b = params[3 * l + 2]
                var c = c0[l], h = h0[l]
                out = [Double](repeating: 0, count: steps * batch * hidden)
                for t in 0..<steps {
                    var nc = c, nh = h
                    for r in 0..<batch where t < Int(lengths[r]) {
                        for k in 0..<hidden {
                            var g = [Double](repeating: 0, count: 4)
                            for q in 0..<4 {
                                let j = q * hidden + k
                                var s = b[j]
                                for i in 0..<width { s += input[(t * batch + r) * width + i] * wx[i * 4 * hidden + j] }
                                for i in 0..<hidden { s += h[r * hidden + i] * wh[i * 4 * hidden + j] }
                                g[q] = s
                            }
                            let kept: Double = sigmoid(g[1]) * c[r * hidden + k]
                            let written: Double = sigmoid(g[0]) * Foundation.tanh(g[3])
                            let cell = kept + written
                            nc[r * hidden + k] = cell
                            nh[r * hidden + k] = sigmoid(g[2]) * Foundation.tanh(cell)
                        }
                    }
                    c = nc; h = nh
                    for i in 0..<(batch * hidden) { out[t * batch * hidden + i] = h[i] }
                }
                for i in 0..<(batch * hidden) { total += rc[l][i] * c[i] + rh[l][i] * h[i] }
                input = out
                width = hidden
            }
            for i in 0..<out.count { total += r[i] * out[i] }
            return total
        }
    }

    func testLSTMStackGradientsIncludingInitialStateAndLengths() throws {
        let k = StackCase(seed: 11)
        let store = ParameterStore()
        let stack = LSTMStack(store: store, layers: k.layers, inputWidth: k.input, hidden: k.hidden) { _, _ in .zeros }
        try store.allocate(on: be, stateCount: 0, seed: 1)
        for l in 0..<k.layers {
            for (j, id) in [stack.weights[l].wx, stack.weights[l].wh, stack.weights[l].b].enumerated() {
                try be.upload(k.params[3 * l + j].map(Float.init), to: store[id].value)
            }
        }
        let ws = try stack.workspace(batch: k.batch, steps: k.steps, training: true, inputGradients: true,
                                     initialStateGradients: true)
        ws.lengths = try be.tensor(k.lengths)
        for l in 0..<k.layers {
            try be.upload(k.c0[l].map(Float.init), to: ws.initialCell(l))
            try be.upload(k.h0[l].map(Float.init), to: ws.initialHidden(l))
        }
        let x = try be.tensor(k.x.map(Float.init), shape: [k.steps * k.batch, k.input])
        try stack.forward(ws, input: .dense(x))
        try be.upload(k.r.map(Float.init), to: ws.gradOutputs!)
        let final = try (0..<k.layers).map { l in
            (cell: try be.tensor(k.rc[l].map(Float.init), shape: [k.batch, k.hidden]),
             hidden: try be.tensor(k.rh[l].map(Float.init), shape: [k.batch, k.hidden]))
        }
        try stack.backward(ws, input: .dense(x), finalState: final)

        let tol = (atol: 2e-5, rtol: 2e-3)
        assertClose(try be.floats(ws.gradInputs!).map(Double.init),
                    numericGradient(k.x) { k.loss(x: $0, c0: k.c0, h0: k.h0, params: k.params) },
                    atol: tol.atol, rtol: tol.rtol, "∂L/∂inputs")
        for l in 0..<k.layers {
            assertClose(try be.floats(ws.gradInitialCells[l]).map(Double.init), numericGradient(k.c0[l]) { v in
                var c0 = k.c0; c0[l] = v
                return k.loss(x: k.x, c0: c0, h0: k.h0, params: k.params)
            }, atol: tol.atol, rtol: tol.rtol, "∂L/∂c0 layer \(l)")
            assertClose(try be.floats(ws.gradInitialHiddens[l]).map(Double.init), numericGradient(k.h0[l]) { v in
                var h0 = k.h0; h0[l] = v
                return k.loss(x: k.x, c0: k.c0, h0: h0, params: k.params)
            }, atol: tol.atol, rtol: tol.rtol, "∂L/∂h0 layer \(l)")
            for (j, id) in [stack.weights[l].wx, stack.weights[l].wh, stack.weights[l].b].enumerated() {
                assertClose(try be.floats(store[id].gradient).map(Double.init), numericGradient(k.params[3 * l + j]) { v in
                    var p = k.params; p[3 * l + j] = v
                    return k.loss(x: k.x, c0: k.c0, h0: k.h0, params: p)
                }, atol: tol.atol, rtol: tol.rtol, "∂L/∂\(store[id].name)")
            }
        }
    }

    func testVariableLengthBatchEqualsSequencesRunAlone() throws {
        let store = ParameterStore()
        let (input, hidden, steps) = (5, 4, 4)
        let stack = LSTMStack(store: store, layers: 2, inputWidth: input, hidden: hidden) { .glorot(fanIn: $0, fanOut: $1) }
        try store.allocate(on: be, stateCount: 0, seed: 3)
        let lengths = [4, 2, 1, 3]
        var data = TestData(seed: 5)
        let b = lengths.count
        let x = data.uniform(steps * b * input)
        let ws = try stack.workspace(batch: b, steps: steps, training: false)
        ws.lengths = try be.tensor(lengths.map(Int32.init))
        try stack.resetState(ws)
        let out = try be.floats(try stack.forward(ws, input: .dense(try be.tensor(x, shape: [steps * b, input]))))
        let finals = try (0..<2).map { (try be.floats(ws.finalCell($0)), try be.floats(ws.finalHidden($0))) }
        for (k, n) in lengths.enumerated() {
            let alone = try stack.workspace(batch: 1, steps: n, training: false)
            try stack.resetState(alone)
            var xs: [Float] = []
            for t in 0..<n { xs += x[((t * b + k) * input)..<((t * b + k + 1) * input)] }
            let o = try be.floats(try stack.forward(alone, input: .dense(try be.tensor(xs, shape: [n, input]))))
            for t in 0..<n {
                assertClose(Array(out[((t * b + k) * hidden)..<((t * b + k + 1) * hidden)]),
                            Array(o[(t * hidden)..<((t + 1) * hidden)]), atol: 1e-6, rtol: 1e-5, "sequence \(k) step \(t)")
            }
            for l in 0..<2 {
                assertClose(Array(finals[l].0[(k * hidden)..<((k + 1) * hidden)]), try be.floats(alone.finalCell(l)),
                            atol: 1e-6, rtol: 1e-5, "final cell \(k) layer \(l)")
                assertClose(Array(finals[l].1[(k * hidden)..<((k + 1) * hidden)]), try be.floats(alone.finalHidden(l)),
                            atol: 1e-6, rtol: 1e-5, "final hidden \(k) layer \(l)")
            }
        }
    }

    /// Double reference of `Attention`: batch-major output h̃ for time-major inputs.
    func attentionLoss(general: Bool, b: Int, s: Int, t: Int, h: Int, lengths: [Int], enc: [Double], dec: [Double],
                       wa: [Double], wc: [Double], wh: [Double], r: [Double]) -> Double {
        func mv(_ m: [Double], _ v: ArraySlice<Double>) -> [Double] {   // v · M for (H, H) M
            (0..<h).map { j in v.indices.reduce(0.0) { $0 + v[$1] * m[($1 - v.startIndex) * h + j] } }
        }
        var total = 0.0
        for bb in 0..<b {
            let e = (0..<s).map { j in Array(enc[((j * b + bb) * h)..<((j * b + bb + 1) * h)]) }
            let keys = general ? e.map { mv(wa, $0[...]) } : e
            for tt in 0..<t {
                let d = Array(dec[((tt * b + bb) * h)..<((tt * b + bb + 1) * h)])
                let m = lengths[bb]
                let scores = (0..<m).map { j in zip(d, keys[j]).reduce(0.0) { $0 + $1.0 * $1.1 } }
                let top = scores.max()!, z = scores.reduce(0.0) { $0 + exp($1 - top) }
                var context = [Double](repeating: 0, count: h)
                for j in 0..<m { for i in 0..<h { context[i] += exp(scores[j] - top) / z * e[j][i] } }
                let a = mv(wc, context[...]), c = mv(wh, d[...])
                for i in 0..<h { total += r[(bb * t + tt) * h + i] * Foundation.tanh(a[i] + c[i]) }
            }
        }
        return total
    }

    func testAttentionGradients() throws {
        for score in Attention.Score.allCases {
            let (b, s, t, h) = (2, 4, 3, 3)
            let lengths = [4, 2]
            var data = TestData(seed: score == .dot ? 21 : 22)
            func u(_ n: Int) -> [Double] { data.uniform(n).map(Double.init) }
            let enc = u(s * b * h), dec = u(t * b * h), wa = u(h * h), wc = u(h * h), wh = u(h * h), r = u(b * t * h)
            let store = ParameterStore()
            let attention = Attention(store: store, prefix: "a.", score: score, width: h, initializer: .zeros)
            try store.allocate(on: be, stateCount: 0, seed: 1)
            for p in store.parameters {
                let values = p.name.hasSuffix("score.weight") ? wa : p.name.hasSuffix("context.weight") ? wc : wh
                try be.upload(values.map(Float.init), to: p.value)
            }
            let ws = try attention.workspace(batch: b, sourceSteps: s, targetSteps: t, training: true)
            let encT = try be.tensor(enc.map(Float.init), shape: [s * b, h]), decT = try be.tensor(dec.map(Float.init), shape: [t * b, h])
            try attention.forward(ws, encoderOutputs: encT, sourceLengths: try be.tensor(lengths.map(Int32.init)), decoderOutputs: decT)
            try be.upload(r.map(Float.init), to: ws.gradOutput!)
            let gEnc = try be.zeros([s * b, h]), gDec = try be.zeros([t * b, h])
            try attention.backward(ws, gradDecoderOutputs: gDec, gradEncoderOutputs: gEnc)
            let general = score == .general
            func L(enc: [Double] = enc, dec: [Double] = dec, wa: [Double] = wa, wc: [Double] = wc, wh: [Double] = wh) -> Double {
                attentionLoss(general: general, b: b, s: s, t: t, h: h, lengths: lengths, enc: enc, dec: dec, wa: wa, wc: wc, wh: wh, r: r)
            }
            let tol = (2e-5, 2e-3)
            assertClose(try be.floats(gEnc).map(Double.init), numericGradient(enc) { L(enc: $0) }, atol: tol.0, rtol: tol.1, "\(score) ∂enc")
            assertClose(try be.floats(gDec).map(Double.init), numericGradient(dec) { L(dec: $0) }, atol: tol.0, rtol: tol.1, "\(score) ∂dec")
            for p in store.parameters {
                let expected: [Double]
                if p.name.hasSuffix("score.weight") { expected = numericGradient(wa) { L(wa: $0) } }
                else if p.name.hasSuffix("context.weight") { expected = numericGradient(wc) { L(wc: $0) } }
                else { expected = numericGradient(wh) { L(wh: $0) } }
                assertClose(try be.floats(p.gradient).map(Double.init), expected, atol: tol.0, rtol: tol.1, "\(score) ∂\(p.name)")
            }
            // Padding positions of the short source get no attention and no gradient.
            let w = try be.floats(ws.weights)
            for tt in 0..<t { XCTAssertEqual(w[(1 * t + tt) * s + 2], 0); XCTAssertEqual(w[(1 * t + tt) * s + 3], 0) }
            let ge = try be.floats(gEnc)
            for j in 2..<4 { for i in 0..<h { XCTAssertEqual(ge[(j * b + 1) * h + i], 0) } }
        }
    }
}
