import Foundation

/// The Barnes-Hut t-SNE gradient on the host (van der Maaten 2014; scikit-learn's
/// `_barnes_hut_tsne.gradient`): attraction exactly over the sparse P, repulsion and its
/// normaliser Z from a quadtree rebuilt each call.
///
/// Positions and gradients are `(2N)` with every x first, then every y. Buffers are allocated
/// once; the work is split over the host's threads in fixed chunks, so results are reproducible.
final class BarnesHutGradient {
    let count: Int
    let affinities: TSNEAffinities
    let theta2: Float
    let threads: HostThreads
    private let tree = QuadTree()
    /// `(2N)` attraction and repulsion (unnormalised), x then y.
    private var attraction: [Float]
    private var repulsion: [Float]
    /// Positions as pairs, for the attraction's gathers (one load per neighbour).
    private var pairs: [SIMD2<Float>]
    private let repulsionChunks: Int
    private let attractionChunks: Int
    private var zParts: [Double]
    private var klParts: [Double]
    private var massParts: [Double]

    init(affinities: TSNEAffinities, theta: Float, threads: HostThreads) {
        count = affinities.count
        self.affinities = affinities
        theta2 = theta * theta
        self.threads = threads
        attraction = [Float](repeating: 0, count: 2 * count)
        repulsion = [Float](repeating: 0, count: 2 * count)
        pairs = [SIMD2<Float>](repeating: .zero, count: count)
        repulsionChunks = threads.chunks(for: count, grain: 64)
        attractionChunks = threads.chunks(for: count, grain: 256)
        zParts = [Double](repeating: 0, count: repulsionChunks)
        klParts = [Double](repeating: 0, count: attractionChunks)
        massParts = [Double](repeating: 0, count: attractionChunks)
    }

    /// Writes `4·(exaggeration·attraction − repulsion / Z)` into `gradient` and returns
    /// KL(P ‖ Q) with `q_ij = w_ij / Z` when `divergence` (else nil).
    func gradient(positions: UnsafePointer<Float>, exaggeration: Float, into gradient: UnsafeMutablePointer<Float>,
                  divergence: Bool) -> Double? {
        let n = count
        let x = positions, y = positions + n
        tree.build(x: x, y: y, count: n)
        let z = repelAll()
        attractAll(x: x, y: y, divergence: divergence)
        let inverseZ = z > 0 ? Float(1 / z) : 0
        attraction.withUnsafeBufferPointer { a in
            repulsion.withUnsafeBufferPointer { r in
                for e in 0..<(2 * n) { gradient[e] = 4 * (exaggeration * a[e] - r[e] * inverseZ) }
            }
        }
        guard divergence else { return nil }
        let kl = klParts.reduce(0, +), mass = massParts.reduce(0, +)
        return z > 0 ? kl + Foundation.log(z) * mass : kl
    }

    /// Repulsion of every point in tree order; returns Z.
    private func repelAll() -> Double {
        let n = count, theta2 = self.theta2, nodeCount = tree.nodes.count
        tree.nodes.withUnsafeBufferPointer { nb in
            tree.xs.withUnsafeBufferPointer { xb in
                tree.ys.withUnsafeBufferPointer { yb in
                    tree.ids.withUnsafeBufferPointer { ib in
                        repulsion.withUnsafeMutableBufferPointer { rb in
                            zParts.withUnsafeMutableBufferPointer { zb in
                                let nodes = nb.baseAddress!, xs = xb.baseAddress!, ys = yb.baseAddress!
                                let ids = ib.baseAddress!, rep = rb.baseAddress!, zp = zb.baseAddress!
                                threads.forEachChunk(n, chunks: repulsionChunks) { chunk, range in
                                    var zsum = 0.0
                                    for k in range {
                                        let (f, z) = QuadTree.repulsion(at: k, px: xs[k], py: ys[k], theta2: theta2,
                                                                        nodes: nodes, nodeCount: nodeCount, xs: xs, ys: ys)
                                        let i = Int(ids[k])
                                        rep[i] = f.x
                                        rep[n + i] = f.y
                                        zsum += Double(z)
                                    }
                                    zp[chunk] = zsum
                                }
                            }
                        }
                    }
                }
            }
        }
        return zParts.reduce(0, +)
    }

    /// Attraction `Σ_j p_ij w_ij (y_i − y_j)` over P's nonzeros, and the divergence terms.
    private func attractAll(x: UnsafePointer<Float>, y: UnsafePointer<Float>, divergence: Bool) {
        let n = count
        for i in 0..<n { pairs[i] = SIMD2(x[i], y[i]) }
        affinities.rowStart.withUnsafeBufferPointer { sb in
            affinities.columns.withUnsafeBufferPointer { cb in
                affinities.values.withUnsafeBufferPointer { vb in
                    pairs.withUnsafeBufferPointer { pb in
                        attraction.withUnsafeMutableBufferPointer { ab in
                            klParts.withUnsafeMutableBufferPointer { kb in
                                massParts.withUnsafeMutableBufferPointer { mb in
                                    let starts = sb.baseAddress!, cols = cb.baseAddress!, vals = vb.baseAddress!
                                    let xy = pb.baseAddress!, att = ab.baseAddress!
                                    let kp = kb.baseAddress!, mp = mb.baseAddress!
                                    threads.forEachChunk(n, chunks: attractionChunks) { chunk, range in
                                        var kl = 0.0, mass = 0.0
                                        for i in range {
                                            let yi = xy[i]
                                            var f = SIMD2<Float>()
                                            var rowKL: Float = 0, rowMass: Float = 0
                                            for e in starts[i]..<starts[i + 1] {
                                                let p = vals[e]
                                                let d = yi - xy[Int(cols[e])]
                                                let d2 = (d * d).sum()
                                                f += (p / (1 + d2)) * d
                                                if divergence && p > 0 {
                                                    rowKL += p * (Foundation.log(p) + Foundation.log1p(d2))
                                                    rowMass += p
                                                }
                                            }
                                            att[i] = f.x
                                            att[n + i] = f.y
                                            kl += Double(rowKL)
                                            mass += Double(rowMass)
                                        }
                                        kp[chunk] = kl
                                        mp[chunk] = mass
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

extension TSNEAffinities {
    /// The Barnes-Hut gradient of KL(P ‖ Q) at `coordinates`, and the divergence with Q's
    /// normaliser estimated by the tree: what one Barnes-Hut iteration computes. θ = 0 opens every
    /// cell, which makes it exact.
    /// - Parameters: coordinates `(N, 2)` row-major.
    /// - Returns: gradient `(N, 2)` row-major, `4·(exaggeration·attraction − repulsion / Z)`.
    public func barnesHutGradient(at coordinates: [Float], theta: Float = 0.5, exaggeration: Float = 1,
                                  threads: Int? = nil) -> (gradient: [Float], divergence: Double) {
        let n = count
        let host = HostThreads(count: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let bh = BarnesHutGradient(affinities: isDense ? sparse() : self, theta: theta, threads: host)
        var planar = [Float](repeating: 0, count: 2 * n)
        for i in 0..<n { planar[i] = coordinates[2 * i]; planar[n + i] = coordinates[2 * i + 1] }
        var g = [Float](repeating: 0, count: 2 * n)
        let kl = planar.withUnsafeBufferPointer { p in
            g.withUnsafeMutableBufferPointer { gb in
                bh.gradient(positions: p.baseAddress!, exaggeration: exaggeration, into: gb.baseAddress!, divergence: true)
            }
        }
        var out = [Float](repeating: 0, count: 2 * n)
        for i in 0..<n { out[2 * i] = g[i]; out[2 * i + 1] = g[n + i] }
        return (out, kl ?? .nan)
    }

    /// The nonzeros of a dense P as CSR.
    func sparse() -> TSNEAffinities {
        guard isDense else { return self }
        var rowStart = [0], columns: [Int32] = [], values: [Float] = []
        for i in 0..<count {
            for j in 0..<count where dense[i * count + j] > 0 {
                columns.append(Int32(j))
                values.append(dense[i * count + j])
            }
            rowStart.append(columns.count)
        }
        return TSNEAffinities(count: count, rowStart: rowStart, columns: columns, values: values, dense: [])
    }
}
