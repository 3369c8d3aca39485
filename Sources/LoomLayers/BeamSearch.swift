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
            // The best extensions of every beam, best first; ties broken by beam then symbol order.
            // Only a row's `width + 1` best symbols can be among the `width` best continuations
            // (a row holds one stop symbol at most), so each row is cut to those first: large
            // vocabularies cost one pass per row instead of a sort of every extension.
            var candidates: [(parent: Int, symbol: Int32, score: Double)] = []
            candidates.reserveCapacity(beams.count * (width + 1))
            for (k, beam) in beams.enumerated() {
                for s in topSymbols(rows[k], count: width + 1) {
                    candidates.append((k, s, beam.score + Double(rows[k][Int(s)])))
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

    /// The `count` largest finite entries of `row`, largest first (the lower index first among equals).
    static func topSymbols(_ row: [Float], count: Int) -> [Int32] {
        var top: [(value: Float, index: Int32)] = []
        top.reserveCapacity(count + 1)
        for (i, v) in row.enumerated() where v > -.infinity {
            if top.count == count, let last = top.last, !(v > last.value) { continue }
            var j = top.count
            while j > 0 && v > top[j - 1].value { j -= 1 }
            top.insert((v, Int32(i)), at: j)
            if top.count > count { top.removeLast() }
        }
        return top.map(\.index)
    }
}
