import Foundation
import LoomCore

extension CPUBackend {
    public var isGPU: Bool { false }

    // y (N, 2), p (N, N), forces (N, 4), stats (N, 3)
    public func tsnePairForces(_ y: Tensor, p: Tensor, forces: Tensor, stats: Tensor, divergence: Bool) throws {
        let op = "tsnePairForces"
        try Check.owned(op, by: self, y, p, forces, stats)
        let n = try Check.tsnePairForces(y, p: p, forces: forces, stats: stats)
        guard n > 0 else { return }
        // The coordinates as two columns, so the inner loop loads 16 x and 16 y at a time.
        let xs = scratch(2 * n), ys = xs + n
        let py = f(y)
        for j in 0..<n {
            xs[j] = py[2 * j]
            ys[j] = py[2 * j + 1]
        }
        let pp = f(p), out = f(forces), st = f(stats)
        parallelFor(n, grain: max(1, 8192 / n)) { rows in
            for i in rows {
                let row = UnsafePointer(pp + i * n)
                var sums = TSNERowSums.over(row, xs, ys, n, x: xs[i], y: ys[i])
                // The pair (i, i) went through the loop with d = 0: w = 1, no force, p_ii = 0.
                sums.z -= 1
                if divergence { sums.divergence = TSNERowSums.divergence(row, xs, ys, n, x: xs[i], y: ys[i]) }
                let o = out + 4 * i, s = st + 3 * i
                o[0] = sums.attraction.x; o[1] = sums.attraction.y
                o[2] = sums.repulsion.x; o[3] = sums.repulsion.y
                s[0] = sums.z; s[1] = sums.divergence; s[2] = sums.mass
            }
        }
    }

    public func tsneGradient(forces: Tensor, stats: Tensor, exaggeration: Float, gradient: Tensor,
                             divergence: Tensor) throws {
        try Check.owned("tsneGradient", by: self, forces, stats, gradient, divergence)
        let n = try Check.tsneGradient(forces: forces, stats: stats, gradient: gradient, divergence: divergence)
        let fo = f(forces), st = f(stats), g = f(gradient)
        var z = 0.0, kl = 0.0, mass = 0.0
        for i in 0..<n {
            z += Double(st[3 * i])
            kl += Double(st[3 * i + 1])
            mass += Double(st[3 * i + 2])
        }
        let inverseZ = z > 0 ? Float(1 / z) : 0
        for i in 0..<n {
            g[2 * i] = 4 * (exaggeration * fo[4 * i] - fo[4 * i + 2] * inverseZ)
            g[2 * i + 1] = 4 * (exaggeration * fo[4 * i + 1] - fo[4 * i + 3] * inverseZ)
        }
        f(divergence)[0] = Float(z > 0 ? kl + Foundation.log(z) * mass : kl)
    }

    public func tsneUpdate(_ y: Tensor, gradient: Tensor, velocity: Tensor, gains: Tensor, learningRate: Float,
                           momentum: Float, minGain: Float) throws {
        try Check.owned("tsneUpdate", by: self, y, gradient, velocity, gains)
        let n = try Check.tsneUpdate(y, gradient: gradient, velocity: velocity, gains: gains)
        let p = f(y), g = f(gradient), u = f(velocity), gain = f(gains)
        parallelFor(n, grain: 8192) { r in
            for i in r {
                let same = u[i] * g[i] < 0 ? gain[i] + 0.2 : gain[i] * 0.8
                gain[i] = max(minGain, same)
                u[i] = momentum * u[i] - learningRate * gain[i] * g[i]
                p[i] += u[i]
            }
        }
    }
}

/// One row of the t-SNE pair pass: sums over every j of a point's pairs, 16 pairs at a time.
struct TSNERowSums {
    var attraction = SIMD2<Float>()
    var repulsion = SIMD2<Float>()
    var z: Float = 0
    var divergence: Float = 0
    var mass: Float = 0

    /// Forces, `Σ w` and `Σ p` of the point at (`x`, `y`) against all `n` points (itself included).
    @inline(__always)
    static func over(_ p: UnsafePointer<Float>, _ xs: UnsafePointer<Float>, _ ys: UnsafePointer<Float>, _ n: Int,
                     x: Float, y: Float) -> TSNERowSums {
        let xi = SIMD16<Float>(repeating: x), yi = SIMD16<Float>(repeating: y)
        var ax = SIMD16<Float>(), ay = SIMD16<Float>(), rx = SIMD16<Float>(), ry = SIMD16<Float>()
        var zs = SIMD16<Float>(), ps = SIMD16<Float>()
        var j = 0
        while j + 16 <= n {
            let dx = xi - Vector.load(xs, j), dy = yi - Vector.load(ys, j)
            let w = 1 / (1 + dx * dx + dy * dy)
            let pv = Vector.load(p, j)
            let pw = pv * w, w2 = w * w
            ax += pw * dx; ay += pw * dy
            rx += w2 * dx; ry += w2 * dy
            zs += w; ps += pv
            j += 16
        }
        var s = TSNERowSums(attraction: [ax.sum(), ay.sum()], repulsion: [rx.sum(), ry.sum()], z: zs.sum(),
                            mass: ps.sum())
        while j < n {
            let dx = x - xs[j], dy = y - ys[j]
            let w = 1 / (1 + dx * dx + dy * dy)
            let pw = p[j] * w, w2 = w * w
            s.attraction += SIMD2(pw * dx, pw * dy)
            s.repulsion += SIMD2(w2 * dx, w2 * dy)
            s.z += w
            s.mass += p[j]
            j += 1
        }
        return s
    }

    /// `Σ_{j: p_j > 0} p_j·log(p_j / w_j) = Σ p_j·(log p_j + log(1 + d_j²))`.
    @inline(__always)
    static func divergence(_ p: UnsafePointer<Float>, _ xs: UnsafePointer<Float>, _ ys: UnsafePointer<Float>,
                           _ n: Int, x: Float, y: Float) -> Float {
        let xi = SIMD16<Float>(repeating: x), yi = SIMD16<Float>(repeating: y)
        var acc = SIMD16<Float>()
        var j = 0
        while j < n {
            let count = min(16, n - j)
            let dx = xi - Vector.load(xs, j, count: count), dy = yi - Vector.load(ys, j, count: count)
            let pv = Vector.load(p, j, count: count)
            let term = pv * (Vector.log(pv) + Vector.log(1 + dx * dx + dy * dy))
            acc += term.replacing(with: 0, where: pv .<= 0)
            j += 16
        }
        return acc.sum()
    }
}
