import Foundation
import LoomCore

/// TensorFlow's `log_uniform_candidate_sampler` with `unique=True` over ids ranked by frequency:
/// `P(k) = (log(k + 2) − log(k + 1)) / log(V + 1)`.
public struct LogUniformSampler {
    public let range: Int
    let logRange: Double
    /// `stamp[id] == generation` marks ids drawn in the current call.
    private var stamp: [UInt32]
    private var generation: UInt32 = 0

    public init(range: Int) {
        precondition(range > 0)
        self.range = range
        logRange = log1p(Double(range))
        stamp = [UInt32](repeating: 0, count: range)
    }

    /// `P(k)`.
    @inline(__always)
    public func probability(_ k: Int) -> Double { log((Double(k) + 2) / (Double(k) + 1)) / logRange }

    /// One draw, as TensorFlow's `LogUniformSampler::Sample`.
    @inline(__always)
    public func draw<G: RandomNumberGenerator>(_ rng: inout G) -> Int {
        let u = Double(rng.next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return (Int(exp(u * logRange)) - 1) % range
    }

    /// `count` distinct ids into `out`, drawing until they are distinct; returns the number of draws
    /// (`num_tries`), which the expected counts depend on.
    public mutating func sampleUnique<G: RandomNumberGenerator>(_ count: Int, into out: inout [Int32],
                                                                 _ rng: inout G) -> Int {
        precondition(count <= range, "cannot draw \(count) distinct ids from \(range)")
        generation &+= 1
        if generation == 0 {
            for i in 0..<stamp.count { stamp[i] = 0 }
            generation = 1
        }
        out.removeAll(keepingCapacity: true)
        var tries = 0
        while out.count < count {
            tries += 1
            let k = draw(&rng)
            if stamp[k] != generation {
                stamp[k] = generation
                out.append(Int32(k))
            }
        }
        return tries
    }

    /// `log E(k)`, the log of the expected count of `k` in a sample of `count` unique ids drawn in
    /// `tries` draws (TensorFlow's `ExpectedCountHelper`).
    @inline(__always)
    public func logExpectedCount(_ k: Int, count: Int, tries: Int) -> Float {
        let p = probability(k)
        if tries == count { return Float(log(p * Double(count))) }
        return Float(log(-expm1(Double(tries) * log1p(-p))))
    }
}

/// Walker's alias method: O(1) draws from a fixed discrete distribution (word2vec's unigram^0.75
/// noise, without its 10⁸-entry table).
public struct AliasSampler {
    @usableFromInline let probability: [Float]
    @usableFromInline let alias: [Int32]

    public init(weights: [Double]) {
        let n = weights.count
        precondition(n > 0)
        let total = weights.reduce(0, +)
        var scaled = weights.map { total > 0 ? $0 * Double(n) / total : 1 }
        var prob = [Float](repeating: 1, count: n)
        var alias = [Int32](repeating: 0, count: n)
        var small: [Int] = [], large: [Int] = []
        for (i, p) in scaled.enumerated() { if p < 1 { small.append(i) } else { large.append(i) } }
        while let s = small.popLast() {
            guard let l = large.popLast() else { prob[s] = 1; continue }
            prob[s] = Float(scaled[s])
            alias[s] = Int32(l)
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1 { small.append(l) } else { large.append(l) }
        }
        for l in large { prob[l] = 1; alias[l] = Int32(l) }
        self.probability = prob
        self.alias = alias
    }

    /// The table itself, for samplers on a device: column `c` is `c` when a uniform coin is below
    /// `probability[c]`, else `alias[c]`.
    public var table: (probability: [Float], alias: [Int32]) { (probability, alias) }

    @inline(__always)
    @inlinable
    public func draw<G: RandomNumberGenerator>(_ rng: inout G) -> Int32 {
        let r = rng.next()
        let column = Int((r >> 32) % UInt64(probability.count))
        let coin = Float(r & 0xFF_FFFF) * (1.0 / 16_777_216.0)
        return coin < probability[column] ? Int32(column) : alias[column]
    }
}

