import Loom
import XCTest

/// Every op on seeded random inputs, OpenCL against the CPU reference, on sizes that are not
/// multiples of any work-group size, and on 0 and 1.
final class ParityTests: XCTestCase {
    /// Element counts: empty, one, and odd sizes around and past common work-group sizes.
    let counts = [0, 1, 7, 255, 257, 4099]

    func testFillAndCopy() throws {
        for n in counts {
            try checkParity("fill/copy n=\(n)") { be in
                let x = try be.allocate([n], dtype: .float32)
                try be.fill(x, value: 2.5)
                let y = try be.zeros([n + 3])
                try be.copy(x, to: y.elements(2, count: n))
                let ids = try be.allocate([n], dtype: .int32)
                try be.fill(ids, value: 7)
                return [("x", try be.floats(x)), ("y", try be.floats(y)), ("ids", try be.ints(ids).map(Float.init))]
            }
        }
    }

    func testGemmAllTransposes() throws {
        let shapes = [(0, 3, 5), (4, 0, 2), (3, 4, 0), (1, 1, 1), (7, 13, 5), (33, 17, 65), (129, 65, 257)]
        for (m, n, k) in shapes {
            for ta in [false, true] {
                for tb in [false, true] {
                    try checkParity("gemm \(m)x\(n)x\(k) ta=\(ta) tb=\(tb)", atol: 1e-4, rtol: 1e-4) { be in
                        var data = TestData(seed: UInt64(m * 1000 + n * 10 + k))
                        let a = try be.tensor(data.uniform(m * k), shape: ta ? [k, m] : [m, k])
                        let b = try be.tensor(data.uniform(k * n), shape: tb ? [n, k] : [k, n])
                        let c = try be.tensor(data.uniform(m * n), shape: [m, n])
                        try be.gemm(a, b, into: c, transposeA: ta, transposeB: tb, alpha: 0.75, beta: -0.5)
                        return [("c", try be.floats(c))]
                    }
                }
            }
        }
    }

    func testGemmOnRowSlices() throws {
        // Offsets inside a larger buffer (one step of an unrolled segment).
        try checkParity("gemm slices", atol: 1e-4) { be in
            var data = TestData(seed: 5)
            let big = try be.tensor(data.uniform(5 * 9 * 6), shape: [45, 6])
            let w = try be.tensor(data.uniform(6 * 11), shape: [6, 11])
            let out = try be.zeros([45, 11])
            try be.matmul(big.rows(9..<18), w, into: out.rows(27..<36))
            return [("out", try be.floats(out))]
        }
    }

    func testBatchedGemm() throws {
        for (batch, m, n, k) in [(1, 3, 4, 5), (3, 7, 5, 9), (5, 17, 33, 3), (2, 0, 3, 3)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                try checkParity("batchedGemm b=\(batch) \(m)x\(n)x\(k) \(ta) \(tb)", atol: 1e-4) { be in
                    var data = TestData(seed: UInt64(batch * 7 + m))
                    let a = try be.tensor(data.uniform(batch * m * k), shape: ta ? [batch, k, m] : [batch, m, k])
                    let b = try be.tensor(data.uniform(batch * k * n), shape: tb ? [batch, n, k] : [batch, k, n])
                    let c = try be.tensor(data.uniform(batch * m * n), shape: [batch, m, n])
                    try be.batchedGemm(a, b, into: c, transposeA: ta, transposeB: tb, alpha: 1.25, beta: 0.5)
                    return [("c", try be.floats(c))]
                }
            }
        }
    }

    func testGatherAndScatterAdd() throws {
        for (v, d, n) in [(1, 1, 0), (1, 1, 1), (13, 7, 29), (50, 33, 257), (1000, 128, 130)] {
            try checkParity("gather/scatter v=\(v) d=\(d) n=\(n)") { be in
                var data = TestData(seed: UInt64(v + d + n))
                let table = try be.tensor(data.uniform(v * d), shape: [v, d])
                let idx = try be.tensor(data.ids(n, below: v))
                let out = try be.allocate([n, d], dtype: .float32)
                try be.gather(table, indices: idx, into: out)
                let rows = try be.tensor(data.uniform(n * d), shape: [n, d])
                try be.scatterAdd(rows, indices: idx, into: table)
                return [("gathered", try be.floats(out)), ("table", try be.floats(table))]
            }
        }
    }

    func testScatterAddManyDuplicates() throws {
        // 20000 rows into 3 ids. The values are small integers, so every partial sum (below 2^24)
        // is exact in Float32 in any order: the tables must equal the host's sums exactly, and a
        // single lost update shows.
        var data = TestData(seed: 11)
        let ids = data.ids(20_000, below: 3)
        let values = (0..<(20_000 * 5)).map { _ in Float(data.rng.next() % 8) }
        var expected = [Float](repeating: 0, count: 3 * 5)
        for (i, id) in ids.enumerated() { for j in 0..<5 { expected[Int(id) * 5 + j] += values[i * 5 + j] } }
        XCTAssertTrue(Set(ids).count == 3 && expected.allSatisfy { $0 > 20_000 && $0 < 16_777_216 })
        func check(_ be: any Backend) throws {
            let table = try be.zeros([3, 5])
            let rows = try be.tensor(values, shape: [20_000, 5])
            try be.scatterAdd(rows, indices: try be.tensor(ids), into: table)
            assertClose(try be.floats(table), expected, atol: 0, rtol: 0, "scatterAdd duplicates on \(be.name)")
        }
        try check(TestBackends.cpu)
        try check(try TestBackends.openCL())
    }

    func testElementwise() throws {
        for n in counts {
            try checkParity("elementwise n=\(n)", atol: 1e-6, rtol: 1e-5) { be in
                var data = TestData(seed: UInt64(n + 1))
                let a = try be.tensor(data.uniform(n, -4, 4))
                let b = try be.tensor(data.uniform(n, -4, 4))
                let sum = try be.allocate([n], dtype: .float32), prod = try be.allocate([n], dtype: .float32)
                let sig = try be.allocate([n], dtype: .float32), th = try be.allocate([n], dtype: .float32)
                let dsig = try be.allocate([n], dtype: .float32), dth = try be.allocate([n], dtype: .float32)
                try be.add(a, b, into: sum)
                try be.multiply(a, b, into: prod)
                try be.sigmoid(a, into: sig)
                try be.tanh(a, into: th)
                try be.sigmoidBackward(output: sig, gradOutput: b, into: dsig)
                try be.tanhBackward(output: th, gradOutput: b, into: dth)
                try be.axpy(alpha: -0.3, a, b)
                try be.scale(a, by: 1.5)
                return [("sum", try be.floats(sum)), ("prod", try be.floats(prod)), ("sigmoid", try be.floats(sig)),
                        ("tanh", try be.floats(th)), ("dsigmoid", try be.floats(dsig)), ("dtanh", try be.floats(dth)),
                        ("axpy", try be.floats(b)), ("scale", try be.floats(a))]
            }
        }
    }

    func testInPlaceElementwise() throws {
        try checkParity("in place", atol: 1e-6) { be in
            var data = TestData(seed: 3)
            let a = try be.tensor(data.uniform(301))
            try be.sigmoid(a, into: a)
            try be.add(a, a, into: a)
            return [("a", try be.floats(a))]
        }
    }

    func testRowVectorOps() throws {
        for (r, c) in [(0, 3), (1, 1), (7, 13), (129, 33), (3, 1031)] {
            try checkParity("rows r=\(r) c=\(c)", atol: 1e-5, rtol: 1e-5) { be in
                var data = TestData(seed: UInt64(r * 31 + c))
                let x = try be.tensor(data.uniform(r * c), shape: [r, c])
                let v = try be.tensor(data.uniform(c))
                try be.addRowVector(v, to: x)
                let s = try be.tensor(data.uniform(c))
                try be.sumRows(x, into: s, accumulate: true)
                let s2 = try be.allocate([c], dtype: .float32)
                try be.sumRows(x, into: s2, accumulate: false)
                return [("x", try be.floats(x)), ("acc", try be.floats(s)), ("sum", try be.floats(s2))]
            }
        }
    }

    func testSoftmaxAndCrossEntropy() throws {
        for (n, c) in [(0, 5), (1, 1), (3, 27), (17, 65), (5, 50_001)] {
            try checkParity("softmax n=\(n) c=\(c)", atol: 1e-6, rtol: 1e-4) { be in
                var data = TestData(seed: UInt64(n * 13 + c))
                let logits = try be.tensor(data.uniform(n * c, -10, 10), shape: [n, c])
                let labels = try be.tensor(data.ids(n, below: c))
                let p = try be.allocate([n, c], dtype: .float32), q = try be.allocate([n, c], dtype: .float32)
                let losses = try be.allocate([n], dtype: .float32)
                let grad = try be.allocate([n, c], dtype: .float32)
                try be.softmax(logits, into: q)
                try be.softmaxCrossEntropy(logits, labels: labels, probabilities: p, losses: losses)
                try be.softmaxCrossEntropyBackward(probabilities: p, labels: labels, into: grad, scale: 0.5)
                return [("softmax", try be.floats(q)), ("probs", try be.floats(p)), ("losses", try be.floats(losses)),
                        ("grad", try be.floats(grad))]
            }
        }
    }

    func testDropoutSameMask() throws {
        for n in counts {
            try checkParity("dropout n=\(n)", atol: 0, rtol: 0) { be in
                var data = TestData(seed: 9)
                let x = try be.tensor(data.uniform(n))
                let y = try be.allocate([n], dtype: .float32), dx = try be.allocate([n], dtype: .float32)
                try be.dropout(x, into: y, keepProbability: 0.7, seed: 0xDEAD_BEEF_1234, stream: 42)
                try be.dropoutBackward(x, into: dx, keepProbability: 0.7, seed: 0xDEAD_BEEF_1234, stream: 42)
                return [("y", try be.floats(y)), ("dx", try be.floats(dx))]
            }
        }
    }

    func testReductionsAndClip() throws {
        for n in [0, 1, 7, 1000, 65_537, 300_001] {
            try checkParity("reduce n=\(n)", atol: 1e-3, rtol: 1e-5) { be in
                var data = TestData(seed: UInt64(n))
                let x = try be.tensor(data.uniform(n))
                let ss = try be.tensor([Float(2)]), s = try be.tensor([Float(-1)])
                try be.sumOfSquares(x, into: ss, accumulate: true)
                try be.sum(x, into: s, accumulate: false)
                let y = try be.tensor(data.uniform(n))
                try be.clipByGlobalNorm(y, sumOfSquares: ss, maxNorm: 0.5)
                return [("sumsq", try be.floats(ss)), ("sum", try be.floats(s)), ("clipped", try be.floats(y))]
            }
        }
    }

    func testOptimizersDenseAndSparse() throws {
        let rules: [UpdateRule] = [
            .sgd(learningRate: 0.1), .momentum(learningRate: 0.1, momentum: 0.9),
            .adagrad(learningRate: 0.5, epsilon: 1e-7),
            .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 3),
        ]
        for rule in rules {
            for (v, d) in [(1, 1), (37, 13), (301, 5)] {
                try checkParity("\(rule) v=\(v) d=\(d)", atol: 1e-5, rtol: 1e-4) { be in
                    var data = TestData(seed: UInt64(v * d))
                    let p = try be.tensor(data.uniform(v * d), shape: [v, d])
                    let state = try (0..<rule.stateCount).map { _ in try be.tensor(data.uniform(v * d, 0.1, 1), shape: [v, d]) }
                    for _ in 0..<2 {
                        let g = try be.tensor(data.uniform(v * d), shape: [v, d])
                        try be.applyUpdate(rule, parameter: p, gradient: g, state: state, rows: nil)
                    }
                    let u = max(1, v / 3)
                    let rows = try be.tensor(data.distinctIds(u, below: v))
                    let g = try be.tensor(data.uniform(u * d), shape: [u, d])
                    try be.applyUpdate(rule, parameter: p, gradient: g, state: state, rows: rows)
                    return [("p", try be.floats(p))] + (try state.enumerated().map { ("state\($0.offset)", try be.floats($0.element)) })
                }
            }
        }
    }

    func testLSTMGates() throws {
        for (b, h) in [(1, 1), (3, 5), (64, 64), (7, 129)] {
            try checkParity("lstm b=\(b) h=\(h)", atol: 1e-5, rtol: 1e-4) { be in
                var data = TestData(seed: UInt64(b * 100 + h))
                let gates = try be.tensor(data.uniform(b * 4 * h, -3, 3), shape: [b, 4 * h])
                let cp = try be.tensor(data.uniform(b * h, -2, 2), shape: [b, h])
                let c = try be.allocate([b, h], dtype: .float32), hs = try be.allocate([b, h], dtype: .float32)
                try be.lstmGatesForward(gates: gates, previousCell: cp, cell: c, hidden: hs)
                let dh = try be.tensor(data.uniform(b * h), shape: [b, h])
                let dc = try be.tensor(data.uniform(b * h), shape: [b, h])
                let dg = try be.allocate([b, 4 * h], dtype: .float32)
                try be.lstmGatesBackward(gates: gates, previousCell: cp, cell: c, gradHidden: dh, gradCell: dc,
                                         gradGates: dg)
                return [("gates", try be.floats(gates)), ("cell", try be.floats(c)), ("hidden", try be.floats(hs)),
                        ("dgates", try be.floats(dg)), ("dcprev", try be.floats(dc))]
            }
        }
    }

    func testSampledSoftmax() throws {
        for (b, s, v, d) in [(1, 1, 2, 1), (7, 5, 30, 3), (128, 64, 1000, 128), (33, 100, 257, 17), (0, 4, 9, 5)] {
            try checkParity("sampledSoftmax b=\(b) s=\(s) v=\(v) d=\(d)", atol: 1e-4, rtol: 1e-3) { be in
                var data = TestData(seed: UInt64(b + s + v + d))
                let sampledIds = data.distinctIds(s, below: v)
                var labelIds = data.ids(b, below: v)
                if b > 2 { labelIds[1] = sampledIds[0]; labelIds[2] = labelIds[0] }  // an accidental hit, a repeat
                let problem = SampledSoftmaxProblem(
                    inputs: try be.tensor(data.uniform(b * d), shape: [b, d]),
                    labels: try be.tensor(labelIds), sampled: try be.tensor(sampledIds),
                    labelLogQ: try be.tensor(data.uniform(b, -8, -1)), sampledLogQ: try be.tensor(data.uniform(s, -8, -1)),
                    weights: try be.tensor(data.uniform(v * d), shape: [v, d]), biases: try be.tensor(data.uniform(v)))
                let o = try SampledSoftmaxOutputs.allocate(on: be, batch: b, sampled: s, dim: d)
                try be.sampledSoftmax(problem, outputs: o, lossScale: 1 / Float(max(b, 1)))
                return [("losses", try be.floats(o.losses)), ("dz", try be.floats(o.gradLogits)),
                        ("dh", try be.floats(o.gradInputs)), ("dwy", try be.floats(o.gradLabelRows)),
                        ("dby", try be.floats(o.gradLabelBiases)), ("dws", try be.floats(o.gradSampledRows)),
                        ("dbs", try be.floats(o.gradSampledBiases))]
            }
        }
    }

    func testEmbeddingBagAndNormalize() throws {
        for (v, d, b, c) in [(1, 1, 1, 1), (13, 7, 9, 4), (200, 33, 65, 10), (50, 128, 0, 3)] {
            try checkParity("embeddingBag v=\(v) d=\(d) b=\(b) c=\(c)", atol: 1e-5) { be in
                var data = TestData(seed: UInt64(v * b + c))
                let table = try be.tensor(data.uniform(v * d), shape: [v, d])
                // Random padding (−1), including bags that are entirely padding.
                let raw = data.ids(b * c, below: v + 3).enumerated().map { $0.offset % 5 == 4 ? -1 : min($0.element, Int32(v - 1)) }
                let ids = try be.tensor(raw.map { Int32($0) }, shape: [b, c])
                let sum = try be.allocate([b, d], dtype: .float32), mean = try be.allocate([b, d], dtype: .float32)
                try be.embeddingBag(table, ids: ids, into: sum, mean: false)
                try be.embeddingBag(table, ids: ids, into: mean, mean: true)
                let grad = try be.tensor(data.uniform(b * d), shape: [b, d])
                let rows = try be.zeros([v, d])
                try be.embeddingBagBackward(grad, slots: ids, into: rows, mean: true)
                let normalized = try be.allocate([v, d], dtype: .float32)
                try be.normalizeRows(table, into: normalized)
                return [("sum", try be.floats(sum)), ("mean", try be.floats(mean)), ("backward", try be.floats(rows)),
                        ("normalized", try be.floats(normalized))]
            }
        }
    }

    func testNegativeSampling() throws {
        for (b, k, v, d) in [(1, 1, 2, 1), (7, 5, 30, 3), (128, 5, 1000, 128), (33, 15, 257, 17), (0, 5, 9, 5)] {
            try checkParity("negativeSampling b=\(b) k=\(k) v=\(v) d=\(d)", atol: 1e-5, rtol: 1e-3) { be in
                var data = TestData(seed: UInt64(b + k + v + d))
                let targets = data.ids(b, below: v)
                var negatives = data.ids(b * k, below: v)
                if b > 1 { negatives[0] = targets[0] }  // a negative equal to its target is skipped
                let problem = NegativeSamplingProblem(
                    inputs: try be.tensor(data.uniform(b * d), shape: [b, d]), targets: try be.tensor(targets),
                    negatives: try be.tensor(negatives, shape: [b, k]),
                    weights: try be.tensor(data.uniform(v * d), shape: [v, d]))
                let o = try NegativeSamplingOutputs.allocate(on: be, batch: b, negatives: k, dim: d)
                try be.negativeSampling(problem, outputs: o, lossScale: 0.5)
                return [("losses", try be.floats(o.losses)), ("dh", try be.floats(o.gradInputs)),
                        ("dwt", try be.floats(o.gradTargetRows)), ("dwn", try be.floats(o.gradNegativeRows))]
            }
        }
    }
}
