import COpenBLAS
import Foundation
import LoomCore

/// The start of the embedding: the data projected on its first two principal components, scaled
/// so the first coordinate has standard deviation 1e-4 (scikit-learn's `pca / std(pca[:, 0]) * 1e-4`).
enum PrincipalComponents {
    /// `(n, 2)` projections on the top two principal axes, each axis signed so its largest
    /// loading is positive (scikit-learn's `svd_flip`), or nil when the data has no spread.
    /// - Parameters: points `(n, d)` row-major.
    static func project(_ points: [Float], count n: Int, dimension d: Int, seed: UInt64) -> [Float]? {
        guard n >= 2 else { return nil }
        // Centre (in Double for the mean), then C = Xcᵀ Xc with one SGEMM.
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += Double(points[i * d + j]) } }
        for j in 0..<d { mean[j] /= Double(n) }
        var centred = [Float](repeating: 0, count: n * d)
        for i in 0..<n { for j in 0..<d { centred[i * d + j] = Float(Double(points[i * d + j]) - mean[j]) } }
        var covariance = [Float](repeating: 0, count: d * d)
        centred.withUnsafeBufferPointer { x in
            covariance.withUnsafeMutableBufferPointer { c in
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d), Int32(d), Int32(n), 1,
                            x.baseAddress!, Int32(d), x.baseAddress!, Int32(d), 0, c.baseAddress!, Int32(d))
            }
        }
        let axes = topEigenvectors(covariance.map(Double.init), dimension: d, count: min(2, d), seed: seed)
        var out = [Float](repeating: 0, count: 2 * n)
        for (a, axis) in axes.enumerated() {
            for i in 0..<n {
                var s = 0.0
                for j in 0..<d { s += Double(centred[i * d + j]) * axis[j] }
                out[2 * i + a] = Float(s)
            }
        }
        var first = (0..<n).map { Double(out[2 * $0]) }
        let m = first.reduce(0, +) / Double(n)
        first = first.map { ($0 - m) * ($0 - m) }
        let std = (first.reduce(0, +) / Double(n)).squareRoot()
        guard std.isFinite, std > 1e-30 else { return nil }
        let scale = Float(1e-4 / std)
        return out.map { $0 * scale }
    }

    /// The `count` leading eigenvectors of the symmetric `(d, d)` matrix `a`, by subspace iteration
    /// on a block of a few more vectors than asked for, then Rayleigh–Ritz (Jacobi on the block).
    static func topEigenvectors(_ a: [Double], dimension d: Int, count: Int, seed: UInt64) -> [[Double]] {
        let b = min(d, count + 6)
        var rng = SeededGenerator(seed: seed ^ 0x9CA)
        var v = (0..<(d * b)).map { _ in rng.nextGaussian() }  // (d, b) column j = vector j
        orthonormalize(&v, rows: d, columns: b)
        var previous = [Double](repeating: 0, count: b)
        for iteration in 0..<1000 {
            var w = [Double](repeating: 0, count: d * b)
            a.withUnsafeBufferPointer { ab in
                v.withUnsafeBufferPointer { vb in
                    w.withUnsafeMutableBufferPointer { wb in
                        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(d), Int32(b), Int32(d), 1,
                                    ab.baseAddress!, Int32(d), vb.baseAddress!, Int32(b), 0, wb.baseAddress!, Int32(b))
                    }
                }
            }
            // Rayleigh quotients of the current vectors, for the convergence test.
            var quotients = [Double](repeating: 0, count: b)
            for j in 0..<b { for r in 0..<d { quotients[j] += v[r * b + j] * w[r * b + j] } }
            v = w
            orthonormalize(&v, rows: d, columns: b)
            let scale = max(abs(quotients[0]), 1e-300)
            let settled = (0..<count).allSatisfy { abs(quotients[$0] - previous[$0]) <= 1e-12 * scale }
            previous = quotients
            if settled && iteration > 2 { break }
        }
        // Rayleigh–Ritz: H = Vᵀ A V (b × b), its eigenvectors rotate V onto the eigenvectors.
        var av = [Double](repeating: 0, count: d * b)
        for r in 0..<d { for j in 0..<b { var s = 0.0; for t in 0..<d { s += a[r * d + t] * v[t * b + j] }; av[r * b + j] = s } }
        var h = [Double](repeating: 0, count: b * b)
        for i in 0..<b { for j in 0..<b { var s = 0.0; for r in 0..<d { s += v[r * b + i] * av[r * b + j] }; h[i * b + j] = s } }
        let (values, vectors) = jacobiEigen(h, size: b)
        let order = (0..<b).sorted { values[$0] > values[$1] }
        return order.prefix(count).map { e in
            var axis = [Double](repeating: 0, count: d)
            for r in 0..<d { for j in 0..<b { axis[r] += v[r * b + j] * vectors[j * b + e] } }
            // svd_flip: the largest loading positive.
            if let big = axis.indices.max(by: { abs(axis[$0]) < abs(axis[$1]) }), axis[big] < 0 {
                axis = axis.map { -$0 }
            }
            return axis
        }
    }

    /// Modified Gram–Schmidt, twice, on the columns of a `(rows, columns)` matrix.
    static func orthonormalize(_ m: inout [Double], rows: Int, columns: Int) {
        for _ in 0..<2 {
            for j in 0..<columns {
                for p in 0..<j {
                    var dot = 0.0
                    for r in 0..<rows { dot += m[r * columns + j] * m[r * columns + p] }
                    for r in 0..<rows { m[r * columns + j] -= dot * m[r * columns + p] }
                }
                var norm = 0.0
                for r in 0..<rows { norm += m[r * columns + j] * m[r * columns + j] }
                norm = norm.squareRoot()
                if norm > 1e-300 {
                    for r in 0..<rows { m[r * columns + j] /= norm }
                } else {
                    // A column that vanished (rank below the block): restart it on a unit vector.
                    for r in 0..<rows { m[r * columns + j] = r == j % rows ? 1 : 0 }
                }
            }
        }
    }

    /// Eigenvalues and eigenvectors (columns of the returned `(n, n)` matrix) of a small
    /// symmetric matrix, by cyclic Jacobi rotations.
    static func jacobiEigen(_ matrix: [Double], size n: Int) -> (values: [Double], vectors: [Double]) {
        var a = matrix
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in 0..<n where i != j { off += a[i * n + j] * a[i * n + j] } }
            if off < 1e-30 { break }
            for p in 0..<n {
                for q in (p + 1)..<n where abs(a[p * n + q]) > 1e-300 {
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q])
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<n).map { a[$0 * n + $0] }, v)
    }
}
