import COpenBLAS
import Foundation

/// The L2-normalised rows of a `WordVectors`, computed once on first use and shared by its copies
/// (their vectors are immutable, so the cache never goes stale).
final class UnitVectorCache: @unchecked Sendable {
    private let lock = NSLock()
    private var unit: [Float]?

    /// `(V, D)`: each row divided by its Euclidean norm; a zero row stays zero.
    func values(of vectors: [Float], dimension: Int) -> [Float] {
        lock.lock()
        defer { lock.unlock() }
        if let unit { return unit }
        let made = Self.normalise(vectors, dimension: dimension)
        unit = made
        return made
    }

    static func normalise(_ vectors: [Float], dimension d: Int) -> [Float] {
        var out = vectors
        out.withUnsafeMutableBufferPointer { o in
            guard let base = o.baseAddress else { return }
            for row in 0..<(o.count / d) {
                normaliseInPlace(base + row * d, dimension: d)
            }
        }
        return out
    }

    /// Divides `d` floats by their norm (as gensim does: `v / ‖v‖`), leaving a zero vector zero.
    static func normaliseInPlace(_ v: UnsafeMutablePointer<Float>, dimension d: Int) {
        let norm = cblas_snrm2(Int32(d), v, 1)
        guard norm > 0 else { return }
        for j in 0..<d { v[j] /= norm }
    }
}

/// One candidate answer: a word id and its score.
struct Candidate: Equatable {
    var index: Int
    var score: Float
}

/// The `k` best candidates seen so far, best first; equal scores keep the earlier id first.
/// Up to three ids (the query words) never enter.
struct TopK {
    let k: Int
    private let excluded: (Int, Int, Int)
    private(set) var best: [Candidate] = []
    /// What a score must beat to enter: −∞ until `k` are held, then the k-th best score.
    private(set) var threshold: Float

    init(_ k: Int, excluding a: Int = -1, _ b: Int = -1, _ c: Int = -1) {
        self.k = k
        excluded = (a, b, c)
        threshold = k > 0 ? -.infinity : .infinity
        best.reserveCapacity(k + 1)
    }

    @inline(__always)
    mutating func consider(_ id: Int, _ score: Float) {
        guard score > threshold, id != excluded.0, id != excluded.1, id != excluded.2 else { return }
        var p = best.count
        while p > 0 && best[p - 1].score < score { p -= 1 }
        best.insert(Candidate(index: id, score: score), at: p)
        if best.count > k { best.removeLast() }
        if best.count == k { threshold = best[k - 1].score }
    }
}

/// Scoring queries against the first rows of the unit vectors with BLAS, and picking the best.
///
/// The scans look at 16 scores at a time and only enter the scalar `TopK` path when one of them
/// beats the current k-th best — after the first few hundred words, almost never.
enum Scoring {
    typealias Lanes = SIMD16<Float>

    /// `scores (n, rows) = queries (n, D) · unit[0..<rows]ᵀ`: `cblas_sgemv` for one query,
    /// `cblas_sgemm` for several.
    static func cosines(queries: UnsafePointer<Float>, count n: Int, unit: UnsafePointer<Float>, rows: Int,
                        dimension d: Int, into scores: UnsafeMutablePointer<Float>) {
        guard n > 0, rows > 0 else { return }
        if n == 1 {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(d), 1, unit, Int32(d),
                        queries, 1, 0, scores, 1)
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(rows), Int32(d), 1,
                        queries, Int32(d), unit, Int32(d), 0, scores, Int32(rows))
        }
    }

    /// Offers `row[0..<count]` to `top`.
    static func scan(_ row: UnsafePointer<Float>, count: Int, into top: inout TopK) {
        scan(count: count, into: &top, lanes: { load(row, $0) }, scalar: { row[$0] })
    }

    /// Offers the 3CosAdd scores `(b + c − a) · scale` to `top`, from the cosines of every
    /// candidate with a, b and c.
    static func scanAdd(a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafePointer<Float>, scale: Float,
                        count: Int, into top: inout TopK) {
        let s = Lanes(repeating: scale)
        scan(count: count, into: &top,
             lanes: { (load(b, $0) + load(c, $0) - load(a, $0)) * s },
             scalar: { (b[$0] + c[$0] - a[$0]) * scale })
    }

    /// Offers the 3CosMul scores `(1+b)/2 · (1+c)/2 / ((1+a)/2 + 10⁻⁶)` to `top`, from the cosines
    /// of every candidate with a, b and c.
    static func scanMul(a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafePointer<Float>, count: Int,
                        into top: inout TopK) {
        let one = Lanes(repeating: 1), two = Lanes(repeating: 2), epsilon = Lanes(repeating: 0.000001)
        scan(count: count, into: &top,
             lanes: { ((one + load(b, $0)) / two) * ((one + load(c, $0)) / two) / ((one + load(a, $0)) / two + epsilon) },
             scalar: { ((1 + b[$0]) / 2) * ((1 + c[$0]) / 2) / ((1 + a[$0]) / 2 + 0.000001) })
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>, _ j: Int) -> Lanes {
        UnsafeRawPointer(p + j).loadUnaligned(as: Lanes.self)
    }

    @inline(__always)
    private static func scan(count: Int, into top: inout TopK, lanes: (Int) -> Lanes, scalar: (Int) -> Float) {
        var j = 0
        while j + Lanes.scalarCount <= count {
            let v = lanes(j)
            if any(v .> Lanes(repeating: top.threshold)) {
                for t in 0..<Lanes.scalarCount { top.consider(j + t, v[t]) }
            }
            j += Lanes.scalarCount
        }
        while j < count {
            top.consider(j, scalar(j))
            j += 1
        }
    }
}
