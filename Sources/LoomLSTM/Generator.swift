import Foundation
import LoomCore
import LoomLayers

/// Generates text from a trained `CharLSTM`: prime the state with a text, then sample, decode
/// greedily, or beam-search with the shared `SequenceDecoder`. Each step runs the model's forward
/// pass on the device for the live rows and brings back only their next-symbol probabilities.
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
        let alphabet = model.alphabet
        guard length >= 0 else { throw LoomError.invalidArgument("--length must not be negative") }
        let primeIDs = try alphabet.encode(prime.isEmpty ? " " : prime, strict: true)
        var width = 1
        if case let .beam(w, _) = decoding {
            guard w >= 1 else { throw LoomError.invalidArgument("--beam must be at least 1") }
            width = w
        }
        // Greedy and sampled decoding never stop early (the stop character is beam search's).
        var stopID: Int32?
        if case .beam = decoding { stopID = try stop.map { try alphabet.encode(String($0), strict: true).first! } }
        let scorer = try CharLSTMScorer(model: model, prime: primeIDs, width: width)
        let result = try SequenceDecoder.decode(scorer, decoding: decoding, length: length, stop: stopID, seed: seed)
        return Output(text: alphabet.decode(result.symbols), symbols: result.symbols,
                      logProbability: result.logProbability)
    }
}

/// A `CharLSTM` as a `StepScorer`: `width` rows that all start from the state after `prime`.
final class CharLSTMScorer: StepScorer {
    let model: CharLSTM
    let prime: [Int32]
    let width: Int
    private let ws: CharLSTM.Workspace
    private let scratch: Tensor
    private var previousSymbols: [Int32]

    init(model: CharLSTM, prime: [Int32], width: Int) throws {
        self.model = model
        self.prime = prime
        self.width = width
        ws = try model.workspace(batch: width, steps: 1, training: false)
        scratch = try model.backend.zeros([width, model.config.hidden])
        previousSymbols = [Int32](repeating: prime.last!, count: width)
    }

    private func inputID(previous: Int32, current: Int32) -> Int32 {
        model.config.bigram ? previous * Int32(model.alphabet.count) + current : current
    }

    private func logs(_ p: ArraySlice<Float>) -> [Float] { p.map { logf(max($0, .leastNonzeroMagnitude)) } }

    func start() throws -> [Float] {
        // Prime: the whole prime as one segment of batch 1, then its final state for every row.
        let be = model.backend
        let primeWS = try model.workspace(batch: 1, steps: prime.count, training: false)
        try model.resetState(primeWS)
        var inputs: [Int32] = []
        for (i, c) in prime.enumerated() { inputs.append(inputID(previous: i > 0 ? prime[i - 1] : 0, current: c)) }
        try be.upload(inputs, to: primeWS.ownInputs)
        try model.forward(primeWS, training: false, step: 0, computeLoss: false)
        let lastRow = primeWS.probabilities.rows((prime.count - 1)..<prime.count)
        let initial = logs(try be.floats(lastRow)[...])
        let zeros = try be.tensor([Int32](repeating: 0, count: width))
        let last = prime.count
        for l in 0..<model.config.layers {
            try be.gather(primeWS.cells[l].rows(last..<(last + 1)), indices: zeros, into: ws.cells[l].rows(0..<width))
            try be.gather(primeWS.hiddens[l].rows(last..<(last + 1)), indices: zeros, into: ws.hiddens[l].rows(0..<width))
        }
        return initial
    }

    func advance(parents: [Int], symbols: [Int32]) throws -> [[Float]] {
        let be = model.backend, v = model.alphabet.count, rows = symbols.count
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
        return (0..<rows).map { k in logs(probs[(k * v)..<((k + 1) * v)]) }
    }
}
