import Foundation
import LoomCore
import _LoomCPUKernels

extension CPUBackend {
    /// `out[i] = body(a[i], b[i])`, split over threads.
    private func zip2(_ op: String, _ a: Tensor, _ b: Tensor, _ out: Tensor,
                      _ body: @escaping (Float, Float) -> Float) throws {
        try Check.owned(op, by: self, a, b, out)
        let n = try Check.elementwise(op, a, b, out)
        let pa = f(a), pb = f(b), po = f(out)
        parallelFor(n) { r in for i in r { po[i] = body(pa[i], pb[i]) } }
    }

    /// `out[i] = body(x[i])`, split over threads.
    private func map1(_ op: String, _ x: Tensor, _ out: Tensor, _ body: @escaping (Float) -> Float) throws {
        try Check.owned(op, by: self, x, out)
        let n = try Check.elementwise(op, x, out)
        let px = f(x), po = f(out)
        parallelFor(n, grain: 4096) { r in for i in r { po[i] = body(px[i]) } }
    }

    public func add(_ a: Tensor, _ b: Tensor, into out: Tensor) throws {
        try zip2("add", a, b, out) { $0 + $1 }
    }

    public func multiply(_ a: Tensor, _ b: Tensor, into out: Tensor) throws {
        try zip2("multiply", a, b, out) { $0 * $1 }
    }

    public func axpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws {
        try zip2("axpy", x, y, y) { alpha * $0 + $1 }
    }

    public func scale(_ x: Tensor, by factor: Float) throws {
        try map1("scale", x, x) { $0 * factor }
    }

    // x (R, C) += vector (C) on every row
    public func addRowVector(_ vector: Tensor, to x: Tensor) throws {
        try Check.owned("addRowVector", by: self, vector, x)
        let s = try Check.addRowVector(vector, x: x)
        let (rows, cols) = (s.rows, s.columns)
        let v = f(vector), px = f(x)
        parallelFor(rows, grain: max(1, 16_384 / max(cols, 1))) { r in
            for row in r {
                let p = px + row * cols
                for c in 0..<cols { p[c] += v[c] }
            }
        }
    }

    // out (C) = Σ_r x (R, C): row after row into a Double accumulator (contiguous, vectorised)
    public func sumRows(_ x: Tensor, into out: Tensor, accumulate: Bool) throws {
        try Check.owned("sumRows", by: self, x, out)
        let s = try Check.sumRows(x, out: out)
        let (rows, cols) = (s.rows, s.columns)
        let px = f(x), po = f(out)
        var total = [Double](repeating: 0, count: cols)
        total.withUnsafeMutableBufferPointer { t in
            let acc = t.baseAddress!
            if accumulate { for c in 0..<cols { acc[c] = Double(po[c]) } }
            // Float partial sums over blocks of 64 rows, then into Double: exact enough, and fast.
            let partial = scratch(cols)
            var r = 0
            while r < rows {
                let end = min(r + 64, rows)
                partial.update(repeating: 0, count: cols)
                for row in r..<end { Vector.axpy(1, px + row * cols, partial, cols) }
                for c in 0..<cols { acc[c] += Double(partial[c]) }
                r = end
            }
            for c in 0..<cols { po[c] = Float(acc[c]) }
        }
    }

    public func sigmoid(_ x: Tensor, into out: Tensor) throws {
        try mapKernel("sigmoid", x, out, loom_sigmoid)
    }

    public func tanh(_ x: Tensor, into out: Tensor) throws {
        try mapKernel("tanh", x, out, loom_tanh)
    }

    /// `out = kernel(x)` through a C kernel, split over threads.
    private func mapKernel(_ op: String, _ x: Tensor, _ out: Tensor,
                           _ kernel: @escaping (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void) throws {
        try Check.owned(op, by: self, x, out)
        let n = try Check.elementwise(op, x, out)
        let px = f(x), po = f(out)
        parallelFor(n, grain: 16_384) { r in kernel(px + r.lowerBound, po + r.lowerBound, r.count) }
    }

    public func sigmoidBackward(output y: Tensor, gradOutput: Tensor, into gradInput: Tensor) throws {
        try zip2("sigmoidBackward", y, gradOutput, gradInput) { y, dy in dy * y * (1 - y) }
    }

    public func tanhBackward(output y: Tensor, gradOutput: Tensor, into gradInput: Tensor) throws {
        try zip2("tanhBackward", y, gradOutput, gradInput) { y, dy in dy * (1 - y * y) }
    }
}
