import Foundation

/// How the next symbol is chosen when generating.
public enum Decoding: Equatable, Sendable {
    /// Sample from the softmax at this temperature (1: the model's distribution; lower: safer).
    case sample(temperature: Float)
    /// Always the most probable symbol.
    case greedy
    /// Beam search: keep the `width` most probable partial sequences by summed log-probability.
    /// With `lengthNormalization`, finished sequences of different lengths (see `stop`) are
    /// compared by their mean log-probability per symbol.
    case beam(width: Int, lengthNormalization: Bool)
}

/// Beam search over any model that scores the next symbol: keep the K most probable partial
/// sequences by summed log-probability, extend each by every symbol, prune back to K.
public enum BeamSearch {
    public struct Result: Equatable, Sendable {
        /// The generated symbols (after the prime).
        public var symbols: [Int32]
        /// Σ log P(symbol | everything before it): a true log-probability under the model.
        public var logProbability: Double
    }

    /// - Parameters:
    ///   - width: beams kept (1 is greedy decoding).
    ///   - length: symbols to generate at most.
    ///   - initial: log-probabilities of the first symbol (one row).
    ///   - stop: a symbol that ends a sequence (kept in it), or nil for fixed-length output.
    ///   - advance: given, for each new beam, its parent row and its last symbol, reorders the
    ///     model's state accordingly, feeds the symbols, and returns one row of next-symbol
    ///     log-probabilities per beam.
    public static func run(width: Int, length: Int, initial: [Float], stop: Int32? = nil,
                           lengthNormalization: Bool = false,
                           advance: (_ parents: [Int], _ symbols: [Int32]) throws -> [[Float]]) rethrows -> Result {
        precondition(width >= 1)
        struct Beam { var symbols: [Int32]; var score: Double }
        var beams = [Beam(symbols: [], score: 0)]
        var rows = [initial]
        var finished: [Beam] = []
        func rank(_ b: Beam) -> Double {
            lengthNormalization && !b.symbols.isEmpty ? b.score / Double(b.symbols.count) : b.score
        }
        for position in 0..<length {
            // Every extension of every beam, best first; ties broken by beam then symbol order.
            var candidates: [(parent: Int, symbol: Int32, score: Double)] = []
            candidates.reserveCapacity(beams.count * initial.count)
            for (k, beam) in beams.enumerated() {
                for (s, lp) in rows[k].enumerated() where lp > -.infinity {
                    candidates.append((k, Int32(s), beam.score + Double(lp)))
                }
            }
            candidates.sort { $0.score != $1.score ? $0.score > $1.score : ($0.parent, $0.symbol) < ($1.parent, $1.symbol) }
            var next: [Beam] = [], parents: [Int] = [], symbols: [Int32] = []
            for c in candidates {
                let beam = Beam(symbols: beams[c.parent].symbols + [c.symbol], score: c.score)
                if let stop, c.symbol == stop {
                    finished.append(beam)
                } else {
                    next.append(beam)
                    parents.append(c.parent)
                    symbols.append(c.symbol)
                }
                if next.count == width { break }
            }
            if next.isEmpty || position == length - 1 {
                beams = next
                break
            }
            rows = try advance(parents, symbols)
            beams = next
        }
        let all = finished + beams
        let best = all.max { rank($0) < rank($1) } ?? Beam(symbols: [], score: 0)
        return Result(symbols: best.symbols, logProbability: best.score)
    }
}
