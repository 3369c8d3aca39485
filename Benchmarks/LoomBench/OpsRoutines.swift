import COpenBLAS
import Foundation
import Loom

/// The engine's ops at the sizes the models use.
enum OpsRoutines {
    /// `C (M, N) = A (M, K) · op(B)`; `transposeB` mirrors the logits GEMM `h · Wᵀ`.
    static func gemm(_ m: Int, _ n: Int, _ k: Int, transposeB: Bool = false) -> Routine {
        Routine(name: "gemm \(m)x\(n)x\(k)\(transposeB ? " (B^T)" : "")", flops: 2 * Double(m * n * k),
                atol: 1e-3, rtol: 1e-3) { be in
            let a = try be.tensor(uniform(m * k, seed: 1), shape: [m, k])
            let b = try be.tensor(uniform(k * n, seed: 2), shape: transposeB ? [n, k] : [k, n])
            let c = try be.zeros([m, n])
            return Instance(run: { try be.gemm(a, b, into: c, transposeA: false, transposeB: transposeB, alpha: 1, beta: 0) },
                            outputs: { try be.floats(c) })
        }
    }

    static func batchedGemm(_ batch: Int, _ m: Int, _ n: Int, _ k: Int) -> Routine {
        Routine(name: "batched gemm \(batch)x(\(m)x\(n)x\(k))", flops: 2 * Double(batch * m * n * k), atol: 1e-3) { be in
            let a = try be.tensor(uniform(batch * m * k, seed: 3), shape: [batch, m, k])
            let b = try be.tensor(uniform(batch * k * n, seed: 4), shape: [batch, k, n])
            let c = try be.zeros([batch, m, n])
            return Instance(run: { try be.batchedGemm(a, b, into: c, transposeA: false, transposeB: false, alpha: 1, beta: 0) },
                            outputs: { try be.floats(c) })
        }
    }

    /// Gather of `n` rows of a `(v, d)` table: reads and writes `n·d` floats.
    static func gather(v: Int, d: Int, n: Int) -> Routine {
        Routine(name: "gather \(n) rows of \(v)x\(d)", bytes: Double(2 * n * d * 4 + n * 4), atol: 0, rtol: 0) { be in
            let table = try be.tensor(uniform(v * d, seed: 5), shape: [v, d])
            let idx = try be.tensor(ids(n, below: v, seed: 6))
            let out = try be.zeros([n, d])
            return Instance(run: { try be.gather(table, indices: idx, into: out) }, outputs: { try be.floats(out) })
        }
    }

    /// Scatter-add of `n` rows into a `(v, d)` table: reads `n·d` twice, writes `n·d`.
    static func scatterAdd(v: Int, d: Int, n: Int) -> Routine {
        Routine(name: "scatterAdd \(n) rows into \(v)x\(d)", bytes: Double(3 * n * d * 4 + n * 4), atol: 1e-3) { be in
            let table = try be.zeros([v, d])
            let rows = try be.tensor(uniform(n * d, seed: 7), shape: [n, d])
            let idx = try be.tensor(ids(n, below: v, seed: 8))
            return Instance(run: { try be.scatterAdd(rows, indices: idx, into: table) }, outputs: { try be.floats(table) })
        }
    }

    /// Fused LSTM gates, forward then backward, for a batch of `b` and `h` units.
    static func lstmGates(b: Int, h: Int) -> Routine {
        Routine(name: "lstm gates fwd+bwd B=\(b) H=\(h)", bytes: Double(b * h * 4 * 17), atol: 1e-4) { be in
            let pre = uniform(b * 4 * h, seed: 9, -2, 2)
            let gates = try be.tensor(pre, shape: [b, 4 * h])
            let cp = try be.tensor(uniform(b * h, seed: 10), shape: [b, h])
            let c = try be.zeros([b, h]), hs = try be.zeros([b, h])
            let dh = try be.tensor(uniform(b * h, seed: 11), shape: [b, h])
            // The cell's gradient from later steps (in), then that of the previous cell (out).
            let dc = try be.tensor(uniform(b * h, seed: 23), shape: [b, h]), dg = try be.zeros([b, 4 * h])
            return Instance(run: {
                try be.lstmGatesForward(gates: gates, previousCell: cp, cell: c, hidden: hs)
                try be.lstmGatesBackward(gates: gates, previousCell: cp, cell: c, gradHidden: dh, gradCell: dc,
                                         gradGates: dg)
            }, outputs: {
                // Forward (hidden, cell, the gates' activations) and backward (both gradients).
                try be.floats(hs) + be.floats(c) + be.floats(gates) + be.floats(dg) + be.floats(dc)
            })
        }
    }

    /// Fused sampled softmax (forward and all gradients) for the word2vec course configuration.
    static func sampledSoftmax(b: Int, s: Int, v: Int, d: Int) -> Routine {
        Routine(name: "sampled softmax B=\(b) S=\(s) V=\(v) D=\(d)", flops: 6 * Double(b * (s + 1) * d),
                atol: 1e-4, rtol: 1e-3) { be in
            var rng = SeededGenerator(seed: 12)
            var pool = Array(0..<Int32(v))
            for i in 0..<s { pool.swapAt(i, i + Int(rng.next() % UInt64(v - i))) }
            let problem = SampledSoftmaxProblem(
                inputs: try be.tensor(uniform(b * d, seed: 13), shape: [b, d]),
                labels: try be.tensor(ids(b, below: v, seed: 14)), sampled: try be.tensor(Array(pool[0..<s])),
                labelLogQ: try be.tensor(uniform(b, seed: 15, -9, -2)), sampledLogQ: try be.tensor(uniform(s, seed: 16, -9, -2)),
                weights: try be.tensor(uniform(v * d, seed: 17, -0.1, 0.1), shape: [v, d]),
                biases: try be.zeros([v]))
            let o = try SampledSoftmaxOutputs.allocate(on: be, batch: b, sampled: s, dim: d)
            return Instance(run: { try be.sampledSoftmax(problem, outputs: o, lossScale: 1 / Float(b)) },
                            outputs: { try be.floats(o.losses) + be.floats(o.gradInputs) + be.floats(o.gradSampledRows) })
        }
    }

    /// Softmax cross-entropy over a full vocabulary (the exact loss sampled softmax estimates).
    static func softmaxCrossEntropy(n: Int, c: Int) -> Routine {
        Routine(name: "softmax xent fwd+bwd \(n)x\(c)", bytes: Double(n * c * 4 * 4), atol: 1e-5) { be in
            let logits = try be.tensor(uniform(n * c, seed: 18, -5, 5), shape: [n, c])
            let labels = try be.tensor(ids(n, below: c, seed: 19))
            let p = try be.zeros([n, c]), l = try be.zeros([n]), g = try be.zeros([n, c])
            return Instance(run: {
                try be.softmaxCrossEntropy(logits, labels: labels, probabilities: p, losses: l)
                try be.softmaxCrossEntropyBackward(probabilities: p, labels: labels, into: g, scale: 1 / Float(n))
            }, outputs: { try be.floats(l) + be.floats(p) + be.floats(g) })
        }
    }

    /// Sparse Adagrad on the rows a word2vec step touches.
    static func sparseAdagrad(v: Int, d: Int, rows: Int) -> Routine {
        Routine(name: "sparse adagrad \(rows) rows of \(v)x\(d)", bytes: Double(rows * d * 4 * 5), atol: 1e-5) { be in
            let p = try be.tensor(uniform(v * d, seed: 20), shape: [v, d])
            let acc = try be.tensor([Float](repeating: 0.1, count: v * d), shape: [v, d])
            var rng = SeededGenerator(seed: 21)
            var pool = Array(0..<Int32(v))
            for i in 0..<rows { pool.swapAt(i, i + Int(rng.next() % UInt64(v - i))) }
            let r = try be.tensor(Array(pool[0..<rows]))
            let g = try be.tensor(uniform(rows * d, seed: 22), shape: [rows, d])
            return Instance(run: {
                try be.applyUpdate(.adagrad(learningRate: 1, epsilon: 1e-7), parameter: p, gradient: g, state: [acc], rows: r)
            }, outputs: { try be.floats(p) })
        }
    }

    /// A conv 3×3 layer as the captioner runs it: im2col, the GEMM, bias; then the backward pass
    /// (weight GEMM, bias sum, column GEMM, col2im). `flops` counts the three GEMMs.
    static func convolution(_ g: ConvGeometry, filters: Int) -> Routine {
        let gemmFlops = 2 * Double(g.outputPixels * g.patch * filters)
        return Routine(name: "conv fwd+bwd \(g.batch)x\(g.height)x\(g.width)x\(g.channels) → \(filters)", flops: 3 * gemmFlops,
                       atol: 1e-3, rtol: 1e-3) { be in
            let x = try be.tensor(uniform(g.inputCount, seed: 30))
            let w = try be.tensor(uniform(g.patch * filters, seed: 31), shape: [g.patch, filters])
            let bias = try be.tensor(uniform(filters, seed: 32))
            let cols = try be.zeros([g.outputPixels, g.patch]), y = try be.zeros([g.outputPixels, filters])
            let dy = try be.tensor(uniform(g.outputPixels * filters, seed: 33), shape: [g.outputPixels, filters])
            let dw = try be.zeros([g.patch, filters]), db = try be.zeros([filters])
            let dcols = try be.zeros([g.outputPixels, g.patch]), dx = try be.zeros([g.inputCount])
            return Instance(run: {
                try be.im2col(x, g, into: cols)
                try be.gemm(cols, w, into: y, transposeA: false, transposeB: false, alpha: 1, beta: 0)
                try be.addRowVector(bias, to: y)
                try be.gemm(cols, dy, into: dw, transposeA: true, transposeB: false, alpha: 1, beta: 0)
                try be.sumRows(dy, into: db, accumulate: false)
                try be.gemm(dy, w, into: dcols, transposeA: false, transposeB: true, alpha: 1, beta: 0)
                try be.col2im(dcols, g, into: dx)
            }, outputs: { try be.floats(y) + be.floats(dw) + be.floats(dx) })
        }
    }

    /// ReLU and 2×2 max pooling, forward and backward.
    static func reluPool(_ g: ConvGeometry) -> Routine {
        Routine(name: "relu+maxpool fwd+bwd \(g.batch)x\(g.height)x\(g.width)x\(g.channels)",
                bytes: Double(g.inputCount * 4 * 6), atol: 0, rtol: 0) { be in
            let x = try be.tensor(uniform(g.inputCount, seed: 34)), y = try be.zeros([g.inputCount])
            let pooled = try be.zeros([g.outputPixels * g.channels])
            let arg = try be.zeros([g.outputPixels * g.channels], dtype: .int32)
            let dy = try be.tensor(uniform(g.outputPixels * g.channels, seed: 35)), dx = try be.zeros([g.inputCount])
            return Instance(run: {
                try be.relu(x, into: y)
                try be.maxPool(y, g, into: pooled, argmax: arg)
                try be.maxPoolBackward(dy, argmax: arg, g, into: dx)
                try be.reluBackward(output: y, gradOutput: dx, into: dx)
            }, outputs: { try be.floats(pooled) + be.floats(dx) })
        }
    }

    static func all(quick: Bool) -> [Routine] {
        var list: [Routine] = [
            gemm(256, 256, 256), gemm(1024, 1024, 1024),
            gemm(128, 50_000, 128, transposeB: true),  // logits of a full softmax: h (128×128) · Wᵀ (128×50000)
            gemm(64, 256, 256),                        // LSTM gate projection, course-sized
            gemm(128, 2048, 512),                      // LSTM gate projection, 512 units
            batchedGemm(16, 64, 64, 64),
            gather(v: 50_000, d: 128, n: 8192), scatterAdd(v: 50_000, d: 128, n: 8192),
            lstmGates(b: 64, h: 64), lstmGates(b: 128, h: 512),
            sampledSoftmax(b: 128, s: 64, v: 50_000, d: 128),
            softmaxCrossEntropy(n: 128, c: 50_000),
            sparseAdagrad(v: 50_000, d: 128, rows: 320),
            // The captioner's CNN on a batch of 64 scenes: the first and second conv blocks.
            convolution(ConvGeometry(batch: 64, height: 56, width: 56, channels: 1, kernel: 3, padding: 1), filters: 32),
            convolution(ConvGeometry(batch: 64, height: 28, width: 28, channels: 32, kernel: 3, padding: 1), filters: 64),
            reluPool(ConvGeometry(batch: 64, height: 56, width: 56, channels: 32, kernel: 2, stride: 2)),
        ]
        if quick { list.removeAll { $0.name.contains("1024x1024") || $0.name.contains("50000x") } }
        return list
    }
}

/// OpenBLAS called directly on host arrays: the bar the CPU backend's GEMM is held to.
func measureOpenBLAS(_ m: Int, _ n: Int, _ k: Int, transposeB: Bool, threads: Int, harness: Harness) -> Measurement {
    // OpenBLAS with its own threads (the CPU backend keeps it single-threaded and splits itself).
    openblas_set_num_threads(Int32(threads))
    defer { openblas_set_num_threads(1) }
    let a = uniform(m * k, seed: 1), b = uniform(k * n, seed: 2)
    var c = [Float](repeating: 0, count: m * n)
    func call() {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    1, a, Int32(k), b, Int32(transposeB ? k : n), 0, &c, Int32(n))
    }
    for _ in 0..<3 { call() }
    var calls = 1
    while true {
        let t0 = harness.now()
        for _ in 0..<calls { call() }
        if harness.now() - t0 >= harness.minBatchSeconds || calls >= 1 << 16 { break }
        calls *= 4
    }
    var times: [Double] = []
    for _ in 0..<harness.repeats {
        let t0 = harness.now()
        for _ in 0..<calls { call() }
        times.append((harness.now() - t0) / Double(calls))
    }
    let s = median(times)
    return Measurement(routine: "gemm \(m)x\(n)x\(k)\(transposeB ? " (B^T)" : "")", backend: "openblas-direct",
                       device: "cblas_sgemm, \(openblas_get_num_threads()) threads", milliseconds: s * 1e3,
                       deviceMilliseconds: nil, gflops: 2 * Double(m * n * k) / s / 1e9, gbPerSecond: nil,
                       validation: "baseline")
}
