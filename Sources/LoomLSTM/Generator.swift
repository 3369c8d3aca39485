import Foundation
import LoomCore

/// Generates text from a trained `CharLSTM`: prime the state with a text, then sample, decode
/// greedily, or beam-search. Each step runs the model's forward pass on the device for the live
/// rows and brings back only their next-symbol probabilities.
public struct CharLSTMGenerator {
    public let model: CharLSTM

    public init(model: CharLSTM) { self.model = model }

    public struct Output: Sendable {
        public var text: String
        public var symbols: [Int32]
        /// Σ log P of the generated symbols under the model.
        public var logProbability: Double
    }

    /// Continues `prime` by `length` symbols.
    /// - Parameter stop: with beam search, a character that ends a sequence (e.g. "\n").
    public func generate(prime: String, length: Int, decoding: Decoding, seed: UInt64 = 1,
                         stop: Character? = nil) throws -> Output {
        let alphabet = model.alphabet, v = alphabet.count, be = model.backend
        guard length >= 0 else { throw LoomError.invalidArgument("--length must not be negative") }
        let primeIDs = try alphabet.encode(prime.isEmpty ? " " : prime, strict: true)
        let width: Int
        switch decoding {
        case let .beam(w, _):
            guard w >= 1 else { throw LoomError.invalidArgument("--beam must be at least 1") }
            width = w
        case let .sample(t):
            guard t > 0 && t.isFinite else { throw LoomError.invalidArgument("--temperature must be positive") }
            width = 1
        case .greedy:
            width = 1
        }
        let stopID = try stop.map { try alphabet.encode(String($0), strict: true).first! }
        func inputID(previous: Int32, current: Int32) -> Int32 {
            model.config.bigram ? previous * Int32(v) + current : current
        }

        // Prime: the whole prime as one segment of batch 1, then its final state for every beam.
        let primeWS = try model.workspace(batch: 1, steps: primeIDs.count, training: false)
        try model.resetState(primeWS)
        var primeInputs: [Int32] = []
        for (i, c) in primeIDs.enumerated() { primeInputs.append(inputID(previous: i > 0 ? primeIDs[i - 1] : 0, current: c)) }
        try be.upload(primeInputs, to: primeWS.ownInputs)
        try model.forward(primeWS, training: false, step: 0, computeLoss: false)
        let lastRow = primeWS.probabilities.rows((primeIDs.count - 1)..<primeIDs.count)
        let initial = try be.floats(lastRow).map { logf(max($0, .leastNonzeroMagnitude)) }

        let ws = try model.workspace(batch: width, steps: 1, training: false)
        let zeros = try be.tensor([Int32](repeating: 0, count: width))
        let last = primeIDs.count
        let scratch = try be.zeros([width, model.config.hidden])
        for l in 0..<model.config.layers {
            // Every row starts from the prime's final state (block `last` of the prime workspace).
            try be.gather(primeWS.cells[l].rows(last..<(last + 1)), indices: zeros, into: ws.cells[l].rows(0..<width))
            try be.gather(primeWS.hiddens[l].rows(last..<(last + 1)), indices: zeros, into: ws.hiddens[l].rows(0..<width))
        }

        /// Reorders the rows' states by `parents`, feeds `symbols` (with the previous symbol of each
        /// row for bigrams), returns next-symbol probabilities per row.
        var previousSymbols = [Int32](repeating: primeIDs.last!, count: width)
        func advance(_ parents: [Int], _ symbols: [Int32]) throws -> [[Float]] {
            let rows = symbols.count
            if parents != Array(0..<rows) {
                let index = try be.tensor(parents.map(Int32.init) + [Int32](repeating: 0, count: width - rows))
                for l in 0..<model.config.layers {
                    for state in [ws.cells[l], ws.hiddens[l]] {
                        try be.gather(state.rows(0..<width), indices: index, into: scratch)
                        try be.copy(scratch, to: state.rows(0..<width))
                    }
                }
            }
            let inputs = (0..<width).map { k in
                k < rows ? inputID(previous: previousSymbols[parents[k]], current: symbols[k]) : 0
            }
            previousSymbols = (0..<width).map { $0 < rows ? symbols[$0] : 0 }
            try be.upload(inputs, to: ws.ownInputs)
            try model.forward(ws, training: false, step: 0, computeLoss: false)
            try model.carryState(ws)
            let probs = try be.floats(ws.probabilities)
            return (0..<rows).map { k in probs[(k * v)..<((k + 1) * v)].map { logf(max($0, .leastNonzeroMagnitude)) } }
        }

        var symbols: [Int32] = []
        var logProbability = 0.0
        switch decoding {
        case let .beam(_, normalize):
            let result = try BeamSearch.run(width: width, length: length, initial: initial, stop: stopID,
                                            lengthNormalization: normalize, advance: advance)
            symbols = result.symbols
            logProbability = result.logProbability
        case .greedy, .sample:
            var rng = SeededGenerator(seed: seed)
            var row = initial
            for i in 0..<length {
                let s: Int32
                if case let .sample(t) = decoding {
                    s = Self.sample(row, temperature: t, &rng)
                } else {
                    s = Int32(row.indices.max { row[$0] < row[$1] }!)
                }
                symbols.append(s)
                logProbability += Double(row[Int(s)])
                if i < length - 1 { row = try advance([0], [s])[0] }
            }
        }
        return Output(text: alphabet.decode(symbols), symbols: symbols, logProbability: logProbability)
    }

    /// A draw from softmax(logp / t).
    static func sample(_ logp: [Float], temperature t: Float, _ rng: inout SeededGenerator) -> Int32 {
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
