import COpenBLAS
import Foundation

/// t-SNE's joint probabilities P in the input space.
///
/// Each point i gets a Gaussian over its neighbours, `p_{j|i} ∝ exp(−β_i‖x_i − x_j‖²)`, whose
/// precision β_i is searched so the row's entropy is `log(perplexity)` (nats); then
/// `P = (P_cond + P_condᵀ) / Σ`, symmetric, summing to 1, with a zero diagonal (scikit-learn's
/// `_joint_probabilities` and `_joint_probabilities_nn`).
///
/// Over the `k` nearest neighbours the result is sparse (CSR); over all pairs it is dense.
public struct TSNEAffinities: Sendable {
    /// N.
    public let count: Int
    /// Sparse P: row i holds `values[rowStart[i]..<rowStart[i + 1]]` at `columns[…]`, columns
    /// ascending. Empty when dense.
    public let rowStart: [Int]
    public let columns: [Int32]
    public let values: [Float]
    /// Dense P, `(N, N)` row-major; empty when sparse.
    public let dense: [Float]

    /// Whether P covers all pairs.
    public var isDense: Bool { !dense.isEmpty || count == 0 }

    /// `p_ij`.
    public func probability(_ i: Int, _ j: Int) -> Float {
        if isDense { return dense.isEmpty ? 0 : dense[i * count + j] }
        let row = rowStart[i]..<rowStart[i + 1]
        guard let slot = columns[row].firstIndex(of: Int32(j)) else { return 0 }
        return values[slot]
    }

    /// P over the `min(N − 1, ⌊3·perplexity⌋ + 1)` nearest neighbours of each point (scikit-learn's
    /// choice), exact neighbours by Euclidean distance.
    /// - Parameters: points `(count, dimension)` row-major, finite.
    public static func nearestNeighbors(points: [Float], count n: Int, dimension d: Int, perplexity: Double,
                                        threads: Int? = nil) -> TSNEAffinities {
        let host = HostThreads(count: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        guard n > 1 else { return TSNEAffinities(count: n, rowStart: [Int](repeating: 0, count: n + 1), columns: [], values: [], dense: []) }
        let k = min(n - 1, Int(3 * perplexity) + 1)
        let graph = points.withUnsafeBufferPointer {
            NeighborGraph.exact($0.baseAddress!, count: n, dimension: d, k: k, threads: host)
        }
        let conditional = Self.conditional(squaredDistances: graph.distances, rowLength: k, perplexity: perplexity,
                                           threads: threads)
        return symmetrize(count: n, k: k, neighbors: graph.indices, conditional: conditional, threads: host)
    }

    /// P over all pairs (scikit-learn's exact method): O(N²) memory and time.
    public static func allPairs(points: [Float], count n: Int, dimension d: Int, perplexity: Double,
                                threads: Int? = nil) -> TSNEAffinities {
        let host = HostThreads(count: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        guard n > 1 else { return TSNEAffinities(count: n, rowStart: [], columns: [], values: [], dense: [Float](repeating: 0, count: n * n)) }
        var matrix = [Float](repeating: 0, count: n * n)
        let target = Foundation.log(perplexity)
        points.withUnsafeBufferPointer { pb in
            matrix.withUnsafeMutableBufferPointer { mb in
                let x = pb.baseAddress!, m = mb.baseAddress!
                // Squared distances ‖a‖² + ‖b‖² − 2 a·b from one SYRK-like product.
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(n), Int32(d), 1, x, Int32(d), x,
                            Int32(d), 0, m, Int32(n))
                var norms = [Float](repeating: 0, count: n)
                for i in 0..<n { norms[i] = m[i * n + i] }
                host.forEachChunk(n, chunks: host.chunks(for: n, grain: 16)) { _, rows in
                    var row = [Float](repeating: 0, count: n - 1)
                    var probabilities = [Float](repeating: 0, count: n - 1)
                    for i in rows {
                        let r = m + i * n
                        var c = 0
                        for j in 0..<n where j != i {
                            row[c] = max(0, norms[i] + norms[j] - 2 * r[j])
                            c += 1
                        }
                        row.withUnsafeBufferPointer { rb in
                            probabilities.withUnsafeMutableBufferPointer { ob in
                                _ = calibrate(rb.baseAddress!, n - 1, target: target, into: ob.baseAddress!)
                            }
                        }
                        c = 0
                        for j in 0..<n {
                            if j == i { r[j] = 0; continue }
                            r[j] = probabilities[c]
                            c += 1
                        }
                    }
                }
                // Symmetrise in place: p_ij = p_ji = (p_{j|i} + p_{i|j}) / Σ.
                var total = 0.0  // Σ over all ordered pairs of p_{j|i} + p_{i|j}: 2N
                for i in 0..<n { for j in (i + 1)..<n { total += 2 * (Double(m[i * n + j]) + Double(m[j * n + i])) } }
                let scale = Float(1 / max(total, Double.ulpOfOne))
                for i in 0..<n {
                    for j in (i + 1)..<n {
                        let v = (m[i * n + j] + m[j * n + i]) * scale
                        m[i * n + j] = v
                        m[j * n + i] = v
                    }
                }
            }
        }
        return TSNEAffinities(count: n, rowStart: [], columns: [], values: [], dense: matrix)
    }

    /// Conditional probabilities `p_{j|i}` of each row of `squaredDistances` (`(R, rowLength)`),
    /// each row's Gaussian precision searched so its entropy is `log(perplexity)`.
    /// - Returns: `(R, rowLength)`, every row summing to 1.
    public static func conditional(squaredDistances: [Float], rowLength k: Int, perplexity: Double,
                                   threads: Int? = nil) -> [Float] {
        let host = HostThreads(count: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        guard k > 0 else { return [] }
        let rows = squaredDistances.count / k
        var out = [Float](repeating: 0, count: rows * k)
        let target = Foundation.log(perplexity)
        squaredDistances.withUnsafeBufferPointer { db in
            out.withUnsafeMutableBufferPointer { ob in
                let d = db.baseAddress!, o = ob.baseAddress!
                host.forEachChunk(rows, chunks: host.chunks(for: rows, grain: 64)) { _, range in
                    for r in range { _ = calibrate(d + r * k, k, target: target, into: o + r * k) }
                }
            }
        }
        return out
    }

    /// One row: `out[j] = exp(−β (d_j − d_min)) / Σ` with β such that the entropy is `target`
    /// nats, by Newton's method on `H(β)` (`H′ = −β·Var(d)`) kept inside a bisection bracket.
    /// Shifting by `d_min` changes nothing in P and keeps the sum ≥ 1 at any β. Rows whose
    /// entropy cannot reach the target (too few distinct distances) end near the closest value.
    /// - Returns: β (per unit of squared distance).
    @discardableResult
    static func calibrate(_ d: UnsafePointer<Float>, _ k: Int, target: Double, into out: UnsafeMutablePointer<Float>) -> Double {
        var dmin = Double.infinity
        for j in 0..<k { dmin = min(dmin, Double(d[j])) }
        var beta = 1.0, lo = 0.0, hi = Double.infinity
        var sum = 1.0
        for _ in 0..<200 {
            var s = 0.0, sd = 0.0, sdd = 0.0
            for j in 0..<k {
                let x = Double(d[j]) - dmin
                let e = Foundation.exp(-beta * x)
                s += e
                sd += x * e
                sdd += x * x * e
            }
            sum = s
            let mean = sd / s
            let entropy = Foundation.log(s) + beta * mean
            let diff = entropy - target
            if abs(diff) < 1e-7 { break }
            if diff > 0 { lo = beta } else { hi = beta }
            let variance = max(0, sdd / s - mean * mean)
            var next = beta + diff / (beta * variance)
            if !(next.isFinite && next > lo && next < hi) {
                next = hi.isFinite ? (lo + hi) / 2 : beta * 2
            }
            if next == beta { break }
            beta = next
        }
        // The final β's probabilities (the loop may have moved β after its last sum).
        var s = 0.0
        for j in 0..<k {
            let e = Foundation.exp(-beta * (Double(d[j]) - dmin))
            out[j] = Float(e)
            s += e
        }
        sum = s
        let inverse = Float(1 / sum)
        for j in 0..<k { out[j] *= inverse }
        return beta
    }

    /// `P = (P_cond + P_condᵀ) / Σ` as CSR, from each row's neighbours and conditional probabilities.
    static func symmetrize(count n: Int, k: Int, neighbors: [Int32], conditional: [Float],
                           threads: HostThreads) -> TSNEAffinities {
        // Each (i, j, p_{j|i}) lands in row i and in row j; duplicates are merged below.
        var filled = [Int](repeating: 0, count: n + 1)
        for i in 0..<n {
            filled[i + 1] += k
            for s in 0..<k { filled[Int(neighbors[i * k + s]) + 1] += 1 }
        }
        for i in 0..<n { filled[i + 1] += filled[i] }
        let starts = filled
        var cols = [Int32](repeating: 0, count: starts[n])
        var vals = [Float](repeating: 0, count: starts[n])
        var cursor = Array(starts[0..<n])
        for i in 0..<n {
            for s in 0..<k {
                let j = Int(neighbors[i * k + s]), p = conditional[i * k + s]
                cols[cursor[i]] = Int32(j); vals[cursor[i]] = p; cursor[i] += 1
                cols[cursor[j]] = Int32(i); vals[cursor[j]] = p; cursor[j] += 1
            }
        }
        // Per row: sort by column, add up duplicates, compact to the front of the row's slots.
        var kept = [Int](repeating: 0, count: n)
        cols.withUnsafeMutableBufferPointer { cb in
            vals.withUnsafeMutableBufferPointer { vb in
                kept.withUnsafeMutableBufferPointer { kb in
                    let c = cb.baseAddress!, v = vb.baseAddress!, kp = kb.baseAddress!
                    threads.forEachChunk(n, chunks: threads.chunks(for: n, grain: 256)) { _, rows in
                        var pairs: [(Int32, Float)] = []
                        for i in rows {
                            let lo = starts[i], hi = starts[i + 1]
                            pairs.removeAll(keepingCapacity: true)
                            for e in lo..<hi { pairs.append((c[e], v[e])) }
                            pairs.sort { $0.0 < $1.0 }
                            var w = lo
                            for (col, p) in pairs {
                                if w > lo && c[w - 1] == col {
                                    v[w - 1] += p
                                } else {
                                    c[w] = col; v[w] = p; w += 1
                                }
                            }
                            kp[i] = w - lo
                        }
                    }
                }
            }
        }
        var rowStart = [Int](repeating: 0, count: n + 1)
        for i in 0..<n { rowStart[i + 1] = rowStart[i] + kept[i] }
        var columns = [Int32](repeating: 0, count: rowStart[n])
        var values = [Float](repeating: 0, count: rowStart[n])
        var total = 0.0
        for i in 0..<n {
            for e in 0..<kept[i] {
                columns[rowStart[i] + e] = cols[starts[i] + e]
                values[rowStart[i] + e] = vals[starts[i] + e]
                total += Double(vals[starts[i] + e])
            }
        }
        let scale = Float(1 / max(total, Double.ulpOfOne))
        for e in values.indices { values[e] *= scale }
        return TSNEAffinities(count: n, rowStart: rowStart, columns: columns, values: values, dense: [])
    }

    /// `(rows.count, N)` dense rows of P (for the exact method's device copy).
    func denseRows(_ rows: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let n = count
        if isDense {
            dense.withUnsafeBufferPointer { out.update(from: $0.baseAddress! + rows.lowerBound * n, count: rows.count * n) }
            return
        }
        out.update(repeating: 0, count: rows.count * n)
        for (r, i) in rows.enumerated() {
            for e in rowStart[i]..<rowStart[i + 1] { out[r * n + Int(columns[e])] = values[e] }
        }
    }
}
