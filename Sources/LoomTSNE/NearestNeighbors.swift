import COpenBLAS

/// The k nearest neighbours of every point by Euclidean distance, found exactly: squared
/// distances `‖a‖² + ‖b‖² − 2 a·b` of a block of rows against all points from one SGEMM, a
/// bounded heap per row, then the k winners' distances recomputed directly (the expansion loses
/// digits for close points).
struct NeighborGraph {
    /// Points.
    let count: Int
    /// Neighbours per point.
    let k: Int
    /// `(N, k)` neighbour ids, nearest first (equal distances: smaller id first). Never the point itself.
    var indices: [Int32]
    /// `(N, k)` squared Euclidean distances, ascending.
    var distances: [Float]

    /// - Parameters: points `(n, d)` row-major; `1 ≤ k < n`.
    static func exact(_ points: UnsafePointer<Float>, count n: Int, dimension d: Int, k: Int,
                      threads: HostThreads) -> NeighborGraph {
        var norms = [Float](repeating: 0, count: n)
        for i in 0..<n { norms[i] = squaredNorm(points + i * d, d) }
        var graph = NeighborGraph(count: n, k: k, indices: [Int32](repeating: 0, count: n * k),
                                  distances: [Float](repeating: 0, count: n * k))
        // Rows per block so the block of dot products stays near 16 MB.
        let block = max(1, min(n, (4 << 20) / n))
        var dots = [Float](repeating: 0, count: block * n)
        norms.withUnsafeBufferPointer { nb in
            dots.withUnsafeMutableBufferPointer { gb in
                graph.indices.withUnsafeMutableBufferPointer { ib in
                    graph.distances.withUnsafeMutableBufferPointer { db in
                        let norm = nb.baseAddress!, g = gb.baseAddress!, ids = ib.baseAddress!, dist = db.baseAddress!
                        var start = 0
                        while start < n {
                            let m = min(block, n - start)
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(d), 1,
                                        points + start * d, Int32(d), points, Int32(d), 0, g, Int32(n))
                            threads.forEachChunk(m, chunks: threads.chunks(for: m, grain: 8)) { _, rows in
                                var heap = NeighborHeap(capacity: k)
                                for r in rows {
                                    let i = start + r
                                    heap.removeAll()
                                    let row = g + r * n, ni = norm[i]
                                    for j in 0..<n where j != i {
                                        let d2 = max(0, ni + norm[j] - 2 * row[j])
                                        heap.offer(d2, Int32(j))
                                    }
                                    // Exact distances of the winners, then nearest first.
                                    var found = heap.items.map { ($0.index, squaredDistance(points + i * d, points + Int($0.index) * d, d)) }
                                    found.sort { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
                                    for (slot, (j, d2)) in found.enumerated() {
                                        ids[i * k + slot] = j
                                        dist[i * k + slot] = d2
                                    }
                                }
                            }
                            start += m
                        }
                    }
                }
            }
        }
        return graph
    }
}

/// `Σ x²` of `d` floats, 8 lanes at a time.
@inline(__always)
func squaredNorm(_ x: UnsafePointer<Float>, _ d: Int) -> Float {
    var acc = SIMD8<Float>()
    var j = 0
    while j + 8 <= d {
        let v = UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self)
        acc += v * v
        j += 8
    }
    var s = acc.sum()
    while j < d { s += x[j] * x[j]; j += 1 }
    return s
}

/// `‖a − b‖²` of `d` floats, 8 lanes at a time.
@inline(__always)
func squaredDistance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: Int) -> Float {
    var acc = SIMD8<Float>()
    var j = 0
    while j + 8 <= d {
        let v = UnsafeRawPointer(a + j).loadUnaligned(as: SIMD8<Float>.self)
            - UnsafeRawPointer(b + j).loadUnaligned(as: SIMD8<Float>.self)
        acc += v * v
        j += 8
    }
    var s = acc.sum()
    while j < d { let v = a[j] - b[j]; s += v * v; j += 1 }
    return s
}

/// The `capacity` smallest (distance, index) pairs offered so far: a max-heap on distance, ties
/// broken towards the smaller index, so the outcome does not depend on the offering order.
struct NeighborHeap {
    struct Item { var distance: Float; var index: Int32 }
    let capacity: Int
    private(set) var items: [Item] = []

    init(capacity: Int) {
        self.capacity = capacity
        items.reserveCapacity(capacity)
    }

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    @inline(__always)
    private static func above(_ a: Item, _ b: Item) -> Bool {
        a.distance > b.distance || (a.distance == b.distance && a.index > b.index)
    }

    @inline(__always)
    mutating func offer(_ distance: Float, _ index: Int32) {
        let item = Item(distance: distance, index: index)
        if items.count < capacity {
            items.append(item)
            var c = items.count - 1
            while c > 0 {
                let parent = (c - 1) / 2
                guard Self.above(items[c], items[parent]) else { break }
                items.swapAt(c, parent)
                c = parent
            }
        } else if Self.above(items[0], item) {
            items[0] = item
            var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1
                var top = p
                if l < items.count && Self.above(items[l], items[top]) { top = l }
                if r < items.count && Self.above(items[r], items[top]) { top = r }
                if top == p { break }
                items.swapAt(p, top)
                p = top
            }
        }
    }
}
