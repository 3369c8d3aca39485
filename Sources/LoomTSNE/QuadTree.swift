/// A quadtree over 2-D points for Barnes-Hut's repulsive forces, rebuilt every iteration into
/// buffers that are kept (no allocation once they have grown).
///
/// Nodes are stored in depth-first pre-order with, for each node, the index just past its
/// subtree (`next`): a traversal that summarises a node jumps to `next`, one that opens it steps
/// to the following node (its first child), so no stack is needed. Points are reordered so each
/// leaf's points are contiguous (`xs`, `ys`, `ids` in tree order), which also gives the force
/// loop a cache-friendly order of points.
final class QuadTree {
    struct Node {
        /// Centre of mass.
        var x: Float
        var y: Float
        /// Points below.
        var mass: Float
        /// Side² of the cell.
        var width2: Float
        /// Index just past this node's subtree.
        var next: Int32
        /// Leaves: their points are `start..<end` of the tree order; inner nodes: `end == -1`.
        var start: Int32
        var end: Int32
    }

    /// Leaves hold up to this many points (more only where points coincide).
    let leafCapacity: Int
    /// Below this depth cells stop splitting (their side is then ~2⁻³⁰ of the root's).
    let maxDepth = 30

    private(set) var nodes: [Node] = []
    /// Coordinates and ids in tree order.
    private(set) var xs: [Float] = []
    private(set) var ys: [Float] = []
    private(set) var ids: [Int32] = []
    /// Room for one level's reordering.
    private var scratchX: [Float] = []
    private var scratchY: [Float] = []
    private var scratchIds: [Int32] = []

    init(leafCapacity: Int = 16) { self.leafCapacity = max(1, leafCapacity) }

    /// Rebuilds the tree over points `(x[i], y[i])`, `i < n`.
    func build(x: UnsafePointer<Float>, y: UnsafePointer<Float>, count n: Int) {
        nodes.removeAll(keepingCapacity: true)
        if ids.count != n {
            ids = (0..<Int32(n)).map { $0 }
            xs = [Float](repeating: 0, count: n)
            ys = [Float](repeating: 0, count: n)
            scratchX = xs
            scratchY = ys
            scratchIds = ids
        }
        guard n > 0 else { return }
        // Start from the previous tree order (points move little between iterations, so the
        // partitions below touch memory mostly in order), with this iteration's coordinates.
        var lo = SIMD2<Float>(x[0], y[0]), hi = lo
        for k in 0..<n {
            let i = Int(ids[k])
            let p = SIMD2(x[i], y[i])
            xs[k] = p.x
            ys[k] = p.y
            lo = pointwiseMin(lo, p)
            hi = pointwiseMax(hi, p)
        }
        // A square root cell a little larger than the bounding box, so every point is strictly inside.
        let side = max(hi.x - lo.x, hi.y - lo.y) * 1.000_01 + 1e-20
        let centre = (lo + hi) / 2
        xs.withUnsafeMutableBufferPointer { xb in
            ys.withUnsafeMutableBufferPointer { yb in
                ids.withUnsafeMutableBufferPointer { ib in
                    scratchX.withUnsafeMutableBufferPointer { sx in
                        scratchY.withUnsafeMutableBufferPointer { sy in
                            scratchIds.withUnsafeMutableBufferPointer { si in
                                var builder = Builder(x: xb.baseAddress!, y: yb.baseAddress!, ids: ib.baseAddress!,
                                                      scratchX: sx.baseAddress!, scratchY: sy.baseAddress!,
                                                      scratchIds: si.baseAddress!, leafCapacity: leafCapacity,
                                                      maxDepth: maxDepth)
                                _ = builder.node(0, n, centre: centre, half: side / 2, depth: 0, into: &nodes)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Recursive construction, reordering the points (coordinates and ids together) so each
    /// cell's points are contiguous.
    private struct Builder {
        let x: UnsafeMutablePointer<Float>
        let y: UnsafeMutablePointer<Float>
        let ids: UnsafeMutablePointer<Int32>
        let scratchX: UnsafeMutablePointer<Float>
        let scratchY: UnsafeMutablePointer<Float>
        let scratchIds: UnsafeMutablePointer<Int32>
        let leafCapacity: Int
        let maxDepth: Int

        /// Appends the subtree of the cell `centre ± half` holding points `lo..<hi`; returns the
        /// sum of their coordinates (Double, for the centres of mass).
        mutating func node(_ lo: Int, _ hi: Int, centre: SIMD2<Float>, half: Float, depth: Int,
                           into nodes: inout [Node]) -> SIMD2<Double> {
            let index = nodes.count
            let count = hi - lo
            nodes.append(Node(x: 0, y: 0, mass: Float(count), width2: 4 * half * half, next: 0, start: -1, end: -1))
            var sum = SIMD2<Double>()
            if count <= leafCapacity || depth >= maxDepth || half <= 0 {
                for k in lo..<hi { sum += SIMD2(Double(x[k]), Double(y[k])) }
                nodes[index].start = Int32(lo)
                nodes[index].end = Int32(hi)
            } else {
                // Counting sort by quadrant: bit 0 east, bit 1 north.
                var counts = SIMD4<Int>()
                for k in lo..<hi { counts[(x[k] >= centre.x ? 1 : 0) + (y[k] >= centre.y ? 2 : 0)] += 1 }
                var offsets = SIMD4<Int>(lo, lo + counts[0], lo + counts[0] + counts[1],
                                         lo + counts[0] + counts[1] + counts[2])
                let starts = offsets
                for k in lo..<hi {
                    let q = (x[k] >= centre.x ? 1 : 0) + (y[k] >= centre.y ? 2 : 0)
                    let o = offsets[q]
                    scratchX[o] = x[k]; scratchY[o] = y[k]; scratchIds[o] = ids[k]
                    offsets[q] = o + 1
                }
                (x + lo).update(from: scratchX + lo, count: count)
                (y + lo).update(from: scratchY + lo, count: count)
                (ids + lo).update(from: scratchIds + lo, count: count)
                let quarter = half / 2
                for q in 0..<4 where counts[q] > 0 {
                    let c = centre + SIMD2(q & 1 == 1 ? quarter : -quarter, q & 2 == 2 ? quarter : -quarter)
                    sum += node(starts[q], starts[q] + counts[q], centre: c, half: quarter, depth: depth + 1, into: &nodes)
                }
            }
            let com = sum / Double(max(count, 1))
            nodes[index].x = Float(com.x)
            nodes[index].y = Float(com.y)
            nodes[index].next = Int32(nodes.count)
            return sum
        }
    }

    /// Barnes-Hut repulsion on the point at tree position `k` (at `(px, py)`): returns
    /// `(Σ_j w_ij² (y_i − y_j), Σ_j w_ij)` over all other points, with cells of side s at distance
    /// d from the point summarised by their centre of mass when `s² < θ² d²`.
    @inline(__always)
    static func repulsion(at k: Int, px: Float, py: Float, theta2: Float, nodes: UnsafePointer<Node>, nodeCount: Int,
                          xs: UnsafePointer<Float>, ys: UnsafePointer<Float>) -> (SIMD2<Float>, Float) {
        var fx: Float = 0, fy: Float = 0, z: Float = 0
        var ni = 0
        while ni < nodeCount {
            let node = nodes[ni]
            let dx = px - node.x, dy = py - node.y
            let d2 = dx * dx + dy * dy
            if node.width2 < theta2 * d2 {
                let w = 1 / (1 + d2)
                let mw = node.mass * w
                z += mw
                fx += mw * w * dx
                fy += mw * w * dy
                ni = Int(node.next)
            } else if node.end >= 0 {
                for m in Int(node.start)..<Int(node.end) where m != k {
                    let ex = px - xs[m], ey = py - ys[m]
                    let w = 1 / (1 + ex * ex + ey * ey)
                    z += w
                    fx += w * w * ex
                    fy += w * w * ey
                }
                ni = Int(node.next)
            } else {
                ni += 1
            }
        }
        return (SIMD2(fx, fy), z)
    }
}
