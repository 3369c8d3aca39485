import LoomCore

/// A model that scores the next symbol of several partial sequences at once: what the shared
/// decoder needs to sample, decode greedily or beam-search. The character model, the
/// sequence-to-sequence decoder and the captioner all provide one.
public protocol StepScorer: AnyObject {
    /// Log-probabilities of the first symbol (one row), from the model's starting state.
    func start() throws -> [Float]
    /// Reorders the rows' states by `parents` (row `k` continues row `parents[k]`), feeds
    /// `symbols[k]` to row `k`, and returns one row of next-symbol log-probabilities per symbol.
    /// At most the `width` the scorer was made for.
    func advance(parents: [Int], symbols: [Int32]) throws -> [[Float]]
}

/// The one decoder for generation: sampling, greedy decoding and beam search over any `StepScorer`.
public enum SequenceDecoder {
    /// Generates up to `length` symbols.
    /// - Parameters:
    ///   - stop: a symbol that ends the sequence (kept in the result), or nil for fixed length.
    ///   - seed: the sampler's seed.
    /// - Returns: the symbols and Σ log P of them under the model.
    public static func decode(_ scorer: StepScorer, decoding: Decoding, length: Int, stop: Int32? = nil,
                              seed: UInt64 = 1) throws -> BeamSearch.Result {
        guard length >= 0 else { throw LoomError.invalidArgument("the output length must not be negative") }
        let initial = try scorer.start()
        switch decoding {
        case let .beam(width, normalize):
            guard width >= 1 else { throw LoomError.invalidArgument("--beam must be at least 1") }
            return try BeamSearch.run(width: width, length: length, initial: initial, stop: stop,
                                      lengthNormalization: normalize, advance: scorer.advance)
        case .greedy, .sample:
            if case let .sample(t) = decoding, !(t > 0 && t.isFinite) {
                throw LoomError.invalidArgument("--temperature must be positive")
            }
            var rng = SeededGenerator(seed: seed)
            var row = initial
            var symbols: [Int32] = []
            var logProbability = 0.0
            for i in 0..<length {
                let s: Int32
                if case let .sample(t) = decoding {
                    s = sample(row, temperature: t, &rng)
                } else {
                    s = argmax(row)
                }
                symbols.append(s)
                logProbability += Double(row[Int(s)])
                if s == stop { break }
                if i < length - 1 { row = try scorer.advance(parents: [0], symbols: [s])[0] }
            }
            return BeamSearch.Result(symbols: symbols, logProbability: logProbability)
        }
    }

    /// The index of the largest value (the first of equal ones).
    public static func argmax(_ row: [Float]) -> Int32 {
        var best = 0
        for i in row.indices where row[i] > row[best] { best = i }
        return Int32(best)
    }

    /// A draw from softmax(logp / t).
    public static func sample(_ logp: [Float], temperature t: Float, _ rng: inout SeededGenerator) -> Int32 {
        let scaled = logp.map { $0 / t }
        let m = scaled.max()!
        let weights = scaled.map { Double(expf($0 - m)) }
        var u = rng.nextDouble() * weights.reduce(0, +)
        for (i, w) in weights.enumerated() {
            u -= w
            if u < 0 { return Int32(i) }
        }
        return Int32(weights.lastIndex { $0 > 0 } ?? 0)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
