import Foundation
import LoomCore

/// How an analogy "a is to b as c is to ?" scores a candidate word x (all vectors unit length).
public enum AnalogyMethod: String, Sendable, CaseIterable {
    /// 3CosAdd (Mikolov et al.): cos(x, b − a + c), ranked exactly as gensim's
    /// `most_similar(positive=[b, c], negative=[a])` does: the mean of the unit vectors
    /// `(b + c − a) / 3`, normalised, then cosine.
    case add
    /// 3CosMul (Levy & Goldberg 2014), as gensim's `most_similar_cosmul`: with each cosine shifted
    /// to [0, 1] by `(cos + 1) / 2`, the score is `cos′(x, b) · cos′(x, c) / (cos′(x, a) + 10⁻⁶)`.
    case mul
}

extension WordVectors {
    /// A word and its score (cosine similarity, or the 3CosMul score for `.mul` analogies).
    public typealias Neighbour = (word: String, similarity: Float)

    /// The `k` words most similar to `word` by cosine, best first, `word` itself excluded.
    /// - Parameters:
    ///   - restrictVocab: consider only the first this many words as answers (the most frequent,
    ///     for vectors from training); nil means all.
    /// - Throws: `LoomError.invalidArgument` for an unknown word or a bad `k` / `restrictVocab`.
    public func mostSimilar(to word: String, k: Int = 8, restrictVocab: Int? = nil) throws -> [Neighbour] {
        let id = try self.id(of: word)
        let rows = try candidateRows(restrictVocab)
        try checkK(k)
        let unit = unitVectors
        let best = unit.withUnsafeBufferPointer { u -> [Candidate] in
            var scores = [Float](repeating: 0, count: rows)
            scores.withUnsafeMutableBufferPointer { s in
                Scoring.cosines(queries: u.baseAddress! + id * dimension, count: 1, unit: u.baseAddress!, rows: rows,
                                dimension: dimension, into: s.baseAddress!)
            }
            var top = TopK(k, excluding: id)
            Scoring.scan(scores, count: rows, into: &top)
            return top.best
        }
        return neighbours(best)
    }

    /// The `k` words whose vectors have the highest cosine with `vector` `(D)`, best first.
    public func mostSimilar(toVector vector: [Float], k: Int = 8, restrictVocab: Int? = nil) throws -> [Neighbour] {
        try mostSimilar(toVectors: [vector], k: k, restrictVocab: restrictVocab)[0]
    }

    /// `mostSimilar(toVector:)` for many queries at once, each `(D)`: one `cblas_sgemm` per block
    /// of up to 256 queries (fewer when 256 rows of scores would pass 256 MB) instead of one pass
    /// over the vocabulary per query.
    public func mostSimilar(toVectors queries: [[Float]], k: Int = 8, restrictVocab: Int? = nil) throws -> [[Neighbour]] {
        let rows = try candidateRows(restrictVocab)
        try checkK(k)
        let d = dimension
        for (n, q) in queries.enumerated() {
            guard q.count == d else {
                throw LoomError.invalidArgument("query \(n) has \(q.count) values; these vectors have \(d) dimensions")
            }
            guard q.allSatisfy(\.isFinite) else {
                throw LoomError.invalidArgument("query \(n) has a non-finite value")
            }
        }
        guard rows > 0, !queries.isEmpty else { return queries.map { _ in [] } }
        let unit = unitVectors
        let block = max(1, min(256, (1 << 26) / rows))
        var results: [[Neighbour]] = []
        results.reserveCapacity(queries.count)
        var q = [Float](repeating: 0, count: block * d)
        var scores = [Float](repeating: 0, count: block * rows)
        unit.withUnsafeBufferPointer { u in
            for start in stride(from: 0, to: queries.count, by: block) {
                let n = min(block, queries.count - start)
                q.withUnsafeMutableBufferPointer { qb in
                    for i in 0..<n {
                        let row = qb.baseAddress! + i * d
                        for j in 0..<d { row[j] = queries[start + i][j] }
                        UnitVectorCache.normaliseInPlace(row, dimension: d)
                    }
                }
                scores.withUnsafeMutableBufferPointer { s in
                    Scoring.cosines(queries: q, count: n, unit: u.baseAddress!, rows: rows, dimension: d,
                                    into: s.baseAddress!)
                    for i in 0..<n {
                        var top = TopK(k)
                        Scoring.scan(s.baseAddress! + i * rows, count: rows, into: &top)
                        results.append(neighbours(top.best))
                    }
                }
            }
        }
        return results
    }

    /// The cosine similarity of two words.
    public func similarity(_ a: String, _ b: String) throws -> Float {
        cosine(try id(of: a), try id(of: b))
    }

    /// Answers "`a` is to `b` as `c` is to ?" — the words nearest to b − a + c, best first, with
    /// `a`, `b` and `c` excluded. `analogy("man", "king", "woman")` → queen.
    /// - Parameters:
    ///   - method: `.add` (3CosAdd) or `.mul` (3CosMul); see `AnalogyMethod`.
    ///   - restrictVocab: consider only the first this many words as answers; nil means all.
    /// - Throws: `LoomError.invalidArgument` for an unknown word or a bad `k` / `restrictVocab`.
    public func analogy(_ a: String, _ b: String, _ c: String, k: Int = 8, method: AnalogyMethod = .add,
                        restrictVocab: Int? = nil) throws -> [Neighbour] {
        let query = AnalogyQuery(a: try id(of: a), b: try id(of: b), c: try id(of: c))
        let rows = try candidateRows(restrictVocab)
        try checkK(k)
        return neighbours(solve([query], method: method, rows: rows, k: k)[0])
    }

    // MARK: Internals

    /// `(V, D)` the unit-length rows (computed on first use, then cached).
    var unitVectors: [Float] { unitCache.values(of: vectors, dimension: dimension) }

    func id(of word: String) throws -> Int {
        guard let i = ids[word] else {
            throw LoomError.invalidArgument("unknown word \(quoted(word)): it is not among the \(count) words of these vectors")
        }
        return i
    }

    /// How many leading rows are candidates.
    func candidateRows(_ restrictVocab: Int?) throws -> Int {
        guard let r = restrictVocab else { return count }
        guard r >= 1 else { throw LoomError.invalidArgument("restrictVocab must be at least 1, got \(r)") }
        return min(r, count)
    }

    func checkK(_ k: Int) throws {
        guard k >= 0 else { throw LoomError.invalidArgument("k must not be negative, got \(k)") }
    }

    func neighbours(_ candidates: [Candidate]) -> [Neighbour] {
        candidates.map { (word: words[$0.index], similarity: $0.score) }
    }

    /// The cosine of words `i` and `j` (dot product of their unit vectors).
    func cosine(_ i: Int, _ j: Int) -> Float {
        unitVectors.withUnsafeBufferPointer { u in
            var sum: Float = 0
            for t in 0..<dimension { sum += u[i * dimension + t] * u[j * dimension + t] }
            return sum
        }
    }

    /// For each query, the `k` best candidates among the first `rows` words, excluding its a, b and c.
    ///
    /// Queries go to BLAS in blocks of up to 256. A block's distinct words are scored against
    /// every candidate with one `cblas_sgemm`, and each question's scores are combined from its
    /// three rows: 3CosMul needs the cosines with a, b and c anyway, and 3CosAdd's cosine with
    /// the normalised `b + c − a` is `(cos b + cos c − cos a) / ‖b + c − a‖`. Questions in a file
    /// share words, so this is far fewer rows than questions. A 3CosAdd block with more distinct
    /// words than questions (a single query) scores the normalised mean vectors instead, as
    /// gensim does (`cblas_sgemv` for one). The selection runs on every core.
    func solve(_ queries: [AnalogyQuery], method: AnalogyMethod, rows: Int, k: Int) -> [[Candidate]] {
        guard !queries.isEmpty, rows > 0 else { return queries.map { _ in [] } }
        let d = dimension
        let unit = unitVectors
        // At most 3 rows per question and 256 MB of scores per block.
        let maxRows = max(3, min(768, (1 << 26) / rows))
        let perBlock = maxRows / 3
        let threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
        var results = [[Candidate]](repeating: [], count: queries.count)
        var q = [Float](repeating: 0, count: maxRows * d)
        var scores = [Float](repeating: 0, count: maxRows * rows)
        var slot = [Int](repeating: -1, count: count)
        unit.withUnsafeBufferPointer { ub in
            q.withUnsafeMutableBufferPointer { qb in
                scores.withUnsafeMutableBufferPointer { sb in
                    results.withUnsafeMutableBufferPointer { rb in
                        slot.withUnsafeMutableBufferPointer { slots in
                            let (u, qp, s) = (ub.baseAddress!, qb.baseAddress!, sb.baseAddress!)
                            for start in stride(from: 0, to: queries.count, by: perBlock) {
                                let m = min(perBlock, queries.count - start)
                                var distinct: [Int] = []
                                for x in queries[start..<(start + m)] {
                                    for id in [x.a, x.b, x.c] where slots[id] < 0 {
                                        slots[id] = distinct.count
                                        distinct.append(id)
                                    }
                                }
                                let byWord = method == .mul || distinct.count <= m
                                if byWord {
                                    for (r, id) in distinct.enumerated() { (qp + r * d).update(from: u + id * d, count: d) }
                                } else {
                                    for i in 0..<m {
                                        // gensim: the mean of the unit vectors with weights 1, 1, −1, normalised.
                                        let x = queries[start + i]
                                        let (a, b, c, row) = (u + x.a * d, u + x.b * d, u + x.c * d, qp + i * d)
                                        for j in 0..<d { row[j] = (b[j] + c[j] - a[j]) / 3 }
                                        UnitVectorCache.normaliseInPlace(row, dimension: d)
                                    }
                                }
                                Scoring.cosines(queries: qp, count: byWord ? distinct.count : m, unit: u, rows: rows,
                                                dimension: d, into: s)
                                let chunks = m < 16 ? 1 : threads
                                DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                                    for i in (m * chunk / chunks)..<(m * (chunk + 1) / chunks) {
                                        let x = queries[start + i]
                                        var top = TopK(k, excluding: x.a, x.b, x.c)
                                        if !byWord {
                                            Scoring.scan(s + i * rows, count: rows, into: &top)
                                        } else {
                                            let (sa, sb, sc) = (s + slots[x.a] * rows, s + slots[x.b] * rows,
                                                                s + slots[x.c] * rows)
                                            switch method {
                                            case .add:
                                                let (a, b, c) = (u + x.a * d, u + x.b * d, u + x.c * d)
                                                var norm: Float = 0
                                                for j in 0..<d { norm += (b[j] + c[j] - a[j]) * (b[j] + c[j] - a[j]) }
                                                let scale = norm > 0 ? 1 / norm.squareRoot() : 0
                                                Scoring.scanAdd(a: sa, b: sb, c: sc, scale: scale, count: rows, into: &top)
                                            case .mul:
                                                Scoring.scanMul(a: sa, b: sb, c: sc, count: rows, into: &top)
                                            }
                                        }
                                        rb[start + i] = top.best
                                    }
                                }
                                for id in distinct { slots[id] = -1 }
                            }
                        }
                    }
                }
            }
        }
        return results
    }
}

/// "a is to b as c is to ?", as word ids.
struct AnalogyQuery: Equatable {
    var a: Int
    var b: Int
    var c: Int
}
