import Foundation
import Loom
import XCTest

/// Every backward op of the CPU backend against central finite differences of a double-precision
/// reference forward: for a random cotangent `r`, `L(x) = Σ r ⊙ f(x)` and `∂L/∂x` must match
/// what the backward op computes from `r`.
final class GradientTests: XCTestCase {
    let be = TestBackends.cpu


    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
    func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    func testSigmoidAndTanhBackward() throws {
        var data = TestData(seed: 1)
        let x = data.uniform(37, -3, 3), r = data.uniform(37)
        let xt = try be.tensor(x), rt = try be.tensor(r)
        let y = try be.allocate([37], dtype: .float32), dx = try be.allocate([37], dtype: .float32)
        let rd = r.map(Double.init)

        try be.sigmoid(xt, into: y)
        try be.sigmoidBackward(output: y, gradOutput: rt, into: dx)
        let gs = numericGradient(x.map(Double.init)) { dot(rd, $0.map(sigmoid)) }
        assertClose(try be.floats(dx).map(Double.init), gs, atol: 1e-6, rtol: 1e-4, "sigmoid")

        try be.tanh(xt, into: y)
        try be.tanhBackward(output: y, gradOutput: rt, into: dx)
        let gt = numericGradient(x.map(Double.init)) { dot(rd, $0.map(Foundation.tanh)) }
        assertClose(try be.floats(dx).map(Double.init), gt, atol: 1e-6, rtol: 1e-4, "tanh")
    }

    func testMultiplyBackward() throws {
        // d(a ⊙ b)/da = b: the backward of multiply is multiply.
        var data = TestData(seed: 2)
        let a = data.uniform(19), b = data.uniform(19), r = data.uniform(19)
        let da = try be.allocate([19], dtype: .float32)
        try be.multiply(try be.tensor(r), try be.tensor(b), into: da)
        let g = numericGradient(a.map(Double.init)) { x in dot(r.map(Double.init), zip(x, b).map { $0 * Double($1) }) }
        assertClose(try be.floats(da).map(Double.init), g, atol: 1e-6, rtol: 1e-5, "multiply")
    }

    func testGemmBackward() throws {
        // C = A·B; dA = dC·Bᵀ and dB = Aᵀ·dC, through the transposed GEMMs.
        let (m, n, k) = (5, 7, 3)
        var data = TestData(seed: 3)
        let a = data.uniform(m * k), b = data.uniform(k * n), r = data.uniform(m * n)
        func forward(_ a: [Double], _ b: [Double]) -> [Double] {
            var c = [Double](repeating: 0, count: m * n)
            for i in 0..<m { for j in 0..<n { for p in 0..<k { c[i * n + j] += a[i * k + p] * b[p * n + j] } } }
            return c
        }
        let at = try be.tensor(a, shape: [m, k]), bt = try be.tensor(b, shape: [k, n]), rt = try be.tensor(r, shape: [m, n])
        let da = try be.allocate([m, k], dtype: .float32), db = try be.allocate([k, n], dtype: .float32)
        try be.matmul(rt, bt, into: da, transposeB: true)
        try be.matmul(at, rt, into: db, transposeA: true)
        let rd = r.map(Double.init), ad = a.map(Double.init), bd = b.map(Double.init)
        assertClose(try be.floats(da).map(Double.init), numericGradient(ad) { dot(rd, forward($0, bd)) },
                    atol: 1e-6, rtol: 1e-5, "gemm dA")
        assertClose(try be.floats(db).map(Double.init), numericGradient(bd) { dot(rd, forward(ad, $0)) },
                    atol: 1e-6, rtol: 1e-5, "gemm dB")
    }

    func testGatherBackwardIsScatterAdd() throws {
        let (v, d) = (6, 4)
        let ids: [Int32] = [2, 5, 2, 0, 2]
        var data = TestData(seed: 4)
        let table = data.uniform(v * d), r = data.uniform(ids.count * d)
        let grad = try be.zeros([v, d])
        try be.scatterAdd(try be.tensor(r, shape: [ids.count, d]), indices: try be.tensor(ids), into: grad)
        let g = numericGradient(table.map(Double.init)) { t in
            var loss = 0.0
            for (n, id) in ids.enumerated() { for j in 0..<d { loss += Double(r[n * d + j]) * t[Int(id) * d + j] } }
            return loss
        }
        assertClose(try be.floats(grad).map(Double.init), g, atol: 1e-6, rtol: 1e-5, "gather")
    }

    func testAddRowVectorBackwardIsSumRows() throws {
        let (rows, cols) = (9, 5)
        var data = TestData(seed: 5)
        let v = data.uniform(cols), r = data.uniform(rows * cols)
        let dv = try be.allocate([cols], dtype: .float32)
        try be.sumRows(try be.tensor(r, shape: [rows, cols]), into: dv, accumulate: false)
        let g = numericGradient(v.map(Double.init)) { vec in
            (0..<(rows * cols)).reduce(0.0) { $0 + Double(r[$1]) * vec[$1 % cols] }
        }
        assertClose(try be.floats(dv).map(Double.init), g, atol: 1e-6, rtol: 1e-5, "addRowVector")
    }

    func testSoftmaxCrossEntropyBackward() throws {
        let (n, c) = (4, 6)
        var data = TestData(seed: 6)
        let z = data.uniform(n * c, -3, 3)
        let labels: [Int32] = [0, 5, 2, 5]
        let scale: Float = 0.25
        let probs = try be.allocate([n, c], dtype: .float32), losses = try be.allocate([n], dtype: .float32)
        let grad = try be.allocate([n, c], dtype: .float32)
        let lt = try be.tensor(labels)
        try be.softmaxCrossEntropy(try be.tensor(z, shape: [n, c]), labels: lt, probabilities: probs, losses: losses)
        try be.softmaxCrossEntropyBackward(probabilities: probs, labels: lt, into: grad, scale: scale)
        func loss(_ z: [Double]) -> Double {
            var total = 0.0
            for i in 0..<n {
                let row = z[(i * c)..<((i + 1) * c)]
                let m = row.max()!
                total += m + log(row.reduce(0) { $0 + exp($1 - m) }) - z[i * c + Int(labels[i])]
            }
            return Double(scale) * total
        }
        assertClose(try be.floats(grad).map(Double.init), numericGradient(z.map(Double.init), loss),
                    atol: 1e-6, rtol: 1e-4, "softmax cross-entropy")
        XCTAssertEqual(Double(try be.floats(losses).reduce(0, +)) * Double(scale), loss(z.map(Double.init)), accuracy: 1e-5)
    }

    func testDropoutBackward() throws {
        let n = 50, keep: Float = 0.6, seed: UInt64 = 77, stream: UInt64 = 3
        var data = TestData(seed: 7)
        let x = data.uniform(n), r = data.uniform(n)
        let dx = try be.allocate([n], dtype: .float32)
        try be.dropoutBackward(try be.tensor(r), into: dx, keepProbability: keep, seed: seed, stream: stream)
        let threshold = Philox.keepThreshold(keep)
        let mask = (0..<n).map { Philox.word(index: UInt64($0), seed: seed, stream: stream) >> 8 < threshold ? 1.0 : 0.0 }
        let g = numericGradient(x.map(Double.init)) { v in
            (0..<n).reduce(0.0) { $0 + Double(r[$1]) * mask[$1] * v[$1] / Double(keep) }
        }
        assertClose(try be.floats(dx).map(Double.init), g, atol: 1e-6, rtol: 1e-5, "dropout")
    }

    /// The CPU's vectorised, threaded dropout draws exactly `Philox.word`'s numbers, whatever the
    /// size (threads' chunks end mid-block here) and with high bits in the seed and stream.
    func testDropoutMaskIsPhiloxWord() throws {
        for (n, seed, stream) in [(5, UInt64(1), UInt64(0)), (100_003, 0xDEAD_BEEF_0000_1234, 0x1_0000_0003 as UInt64)] {
            var data = TestData(seed: 3)
            let x = data.uniform(n), keep: Float = 0.7
            let y = try be.tensor(x)
            try be.dropout(y, into: y, keepProbability: keep, seed: seed, stream: stream)
            let threshold = Philox.keepThreshold(keep)
            let expected = (0..<n).map { Philox.word(index: UInt64($0), seed: seed, stream: stream) >> 8 < threshold ? x[$0] * (1 / keep) : 0 }
            XCTAssertEqual(try be.floats(y), expected, "n=\(n)")
        }
    }

    func testLSTMGatesBackward() throws {
        let (b, h) = (3, 4)
        var data = TestData(seed: 8)
        let pre = data.uniform(b * 4 * h, -2, 2), cp = data.uniform(b * h, -1, 1)
        let rh = data.uniform(b * h), rc = data.uniform(b * h)
        // Reference: L = Σ rh ⊙ hidden + Σ rc ⊙ cell, in double.
        func loss(_ pre: [Double], _ cp: [Double]) -> Double {
            var total = 0.0
            for r in 0..<b {
                for k in 0..<h {
                    let base = r * 4 * h
                    let i = sigmoid(pre[base + k]), f = sigmoid(pre[base + h + k]), o = sigmoid(pre[base + 2 * h + k])
                    let g = Foundation.tanh(pre[base + 3 * h + k])
                    let c = f * cp[r * h + k] + i * g
                    total += Double(rh[r * h + k]) * o * Foundation.tanh(c) + Double(rc[r * h + k]) * c
                }
            }
            return total
        }
        let gates = try be.tensor(pre, shape: [b, 4 * h]), cpt = try be.tensor(cp, shape: [b, h])
        let c = try be.allocate([b, h], dtype: .float32), hs = try be.allocate([b, h], dtype: .float32)
        try be.lstmGatesForward(gates: gates, previousCell: cpt, cell: c, hidden: hs)
        let dc = try be.tensor(rc, shape: [b, h]), dg = try be.allocate([b, 4 * h], dtype: .float32)
        try be.lstmGatesBackward(gates: gates, previousCell: cpt, cell: c, gradHidden: try be.tensor(rh, shape: [b, h]),
                                 gradCell: dc, gradGates: dg)
        let pd = pre.map(Double.init), cd = cp.map(Double.init)
        assertClose(try be.floats(dg).map(Double.init), numericGradient(pd) { loss($0, cd) },
                    atol: 1e-6, rtol: 1e-4, "lstm d preactivations")
        assertClose(try be.floats(dc).map(Double.init), numericGradient(cd) { loss(pd, $0) },
                    atol: 1e-6, rtol: 1e-4, "lstm d previous cell")
    }

    func testSampledSoftmaxBackward() throws {
        let (b, s, v, d) = (5, 4, 9, 3)
        var data = TestData(seed: 9)
        let h = data.uniform(b * d), w = data.uniform(v * d), bias = data.uniform(v)
        let sampled: [Int32] = [3, 7, 0, 5]
        let labels: [Int32] = [1, 3, 8, 1, 7]  // example 1 and 4 hit a sampled id; labels repeat
        let lqy = data.uniform(b, -4, -1), lqs = data.uniform(s, -4, -1)
        let scale: Float = 1 / Float(b)

        func loss(_ h: [Double], _ w: [Double], _ bias: [Double]) -> Double {
            var total = 0.0
            for i in 0..<b {
                var z: [Double] = []
                for j in 0...s {
                    let c = Int(j == 0 ? labels[i] : sampled[j - 1])
                    if j > 0 && sampled[j - 1] == labels[i] { continue }  // accidental hit removed
                    let lq = Double(j == 0 ? lqy[i] : lqs[j - 1])
                    z.append((0..<d).reduce(0.0) { $0 + h[i * d + $1] * w[c * d + $1] } + bias[c] - lq)
                }
                let m = z.max()!
                total += m + log(z.reduce(0) { $0 + exp($1 - m) }) - z[0]
            }
            return Double(scale) * total
        }

        let problem = SampledSoftmaxProblem(
            inputs: try be.tensor(h, shape: [b, d]), labels: try be.tensor(labels), sampled: try be.tensor(sampled),
            labelLogQ: try be.tensor(lqy), sampledLogQ: try be.tensor(lqs),
            weights: try be.tensor(w, shape: [v, d]), biases: try be.tensor(bias))
        let o = try SampledSoftmaxOutputs.allocate(on: be, batch: b, sampled: s, dim: d)
        try be.sampledSoftmax(problem, outputs: o, lossScale: scale)

        // The op's per-row gradients, assembled into dense ones.
        let dW = try be.zeros([v, d]), dB = try be.zeros([v, 1])
        try be.scatterAdd(o.gradLabelRows, indices: problem.labels, into: dW)
        try be.scatterAdd(o.gradSampledRows, indices: problem.sampled, into: dW)
        try be.scatterAdd(o.gradLabelBiases.reshaped([b, 1]), indices: problem.labels, into: dB)
        try be.scatterAdd(o.gradSampledBiases.reshaped([s, 1]), indices: problem.sampled, into: dB)

        let hd = h.map(Double.init), wd = w.map(Double.init), bd = bias.map(Double.init)
        assertClose(try be.floats(o.gradInputs).map(Double.init), numericGradient(hd) { loss($0, wd, bd) },
                    atol: 1e-6, rtol: 1e-4, "sampled softmax dh")
        assertClose(try be.floats(dW).map(Double.init), numericGradient(wd) { loss(hd, $0, bd) },
                    atol: 1e-6, rtol: 1e-4, "sampled softmax dW")
        assertClose(try be.floats(dB).map(Double.init), numericGradient(bd) { loss(hd, wd, $0) },
                    atol: 1e-6, rtol: 1e-4, "sampled softmax db")
        XCTAssertEqual(Double(try be.floats(o.losses).reduce(0, +)) * Double(scale), loss(hd, wd, bd), accuracy: 1e-5)
    }

    func testEmbeddingBagBackward() throws {
        let (v, d) = (7, 3)
        let ids: [Int32] = [2, 5, 2, -1, 0, -1, -1, -1, 6]   // 3 bags of 3; bag 1 has one id, bag 2 one id
        let b = 3, c = 3
        var data = TestData(seed: 10)
        let table = data.uniform(v * d), r = data.uniform(b * d)
        for mean in [false, true] {
            let grad = try be.zeros([v, d])
            try be.embeddingBagBackward(try be.tensor(r, shape: [b, d]), slots: try be.tensor(ids, shape: [b, c]),
                                        into: grad, mean: mean)
            let g = numericGradient(table.map(Double.init)) { t in
                var loss = 0.0
                for bag in 0..<b {
                    let members = (0..<c).map { ids[bag * c + $0] }.filter { $0 >= 0 }
                    for k in 0..<d {
                        var x = members.reduce(0.0) { $0 + t[Int($1) * d + k] }
                        if mean && !members.isEmpty { x /= Double(members.count) }
                        loss += Double(r[bag * d + k]) * x
                    }
                }
                return loss
            }
            assertClose(try be.floats(grad).map(Double.init), g, atol: 1e-6, rtol: 1e-5, "embeddingBag mean=\(mean)")
        }
    }

    func testNegativeSamplingBackward() throws {
        let (b, k, v, d) = (4, 3, 8, 3)
        var data = TestData(seed: 11)
        let h = data.uniform(b * d, -2, 2), w = data.uniform(v * d, -2, 2)
        let targets: [Int32] = [1, 4, 4, 7]
        let negatives: [Int32] = [0, 2, 1, 5, 4, 6, 3, 3, 0, 7, 1, 2]   // pair 0 and pair 3 each meet their target
        let scale: Float = 0.5
        func logSigmoid(_ x: Double) -> Double { -log1p(exp(-x)) }
        func loss(_ h: [Double], _ w: [Double]) -> Double {
            var total = 0.0
            for i in 0..<b {
                func score(_ c: Int) -> Double { (0..<d).reduce(0.0) { $0 + h[i * d + $1] * w[c * d + $1] } }
                total -= logSigmoid(score(Int(targets[i])))
                for j in 0..<k where negatives[i * k + j] != targets[i] { total -= logSigmoid(-score(Int(negatives[i * k + j]))) }
            }
            return Double(scale) * total
        }
        let problem = NegativeSamplingProblem(
            inputs: try be.tensor(h, shape: [b, d]), targets: try be.tensor(targets),
            negatives: try be.tensor(negatives, shape: [b, k]), weights: try be.tensor(w, shape: [v, d]))
        let o = try NegativeSamplingOutputs.allocate(on: be, batch: b, negatives: k, dim: d)
        try be.negativeSampling(problem, outputs: o, lossScale: scale)
        let dW = try be.zeros([v, d])
        try be.scatterAdd(o.gradTargetRows, indices: problem.targets, into: dW)
        try be.scatterAdd(o.gradNegativeRows, indices: problem.negatives.reshaped([b * k]), into: dW)
        let hd = h.map(Double.init), wd = w.map(Double.init)
        assertClose(try be.floats(o.gradInputs).map(Double.init), numericGradient(hd) { loss($0, wd) },
                    atol: 1e-6, rtol: 1e-4, "negative sampling dh")
        assertClose(try be.floats(dW).map(Double.init), numericGradient(wd) { loss(hd, $0) },
                    atol: 1e-6, rtol: 1e-4, "negative sampling dW")
        XCTAssertEqual(Double(try be.floats(o.losses).reduce(0, +)) * Double(scale), loss(hd, wd), accuracy: 1e-5)
    }
}
