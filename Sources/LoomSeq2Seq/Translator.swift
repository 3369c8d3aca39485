import Foundation
import LoomCore
import LoomLayers

/// Decoding with a trained `Seq2SeqModel`: greedy over whole batches of sources at once, or beam
/// search one source at a time through the shared `SequenceDecoder`.
public final class Translator {
    public let model: Seq2SeqModel
    /// Longest output, in symbols (`</s>` excluded); a source of `n` symbols may always have `2n`.
    public var maxLength: Int

    func limit(_ source: [Int32]) -> Int { max(maxLength, 2 * source.count) }
    private var workspaces: [String: Seq2SeqModel.Workspace] = [:]

    public init(model: Seq2SeqModel, maxLength: Int? = nil) {
        self.model = model
        self.maxLength = maxLength ?? model.config.maxLength
    }

    public struct Output: Sendable {
        public var ids: [Int32]
        public var text: String
        /// Σ log P of the output symbols (and `</s>` when reached).
        public var logProbability: Double
    }

    /// Source ids of `text`: for word and subword units, unknown ones become `<unk>` (listed in `unknown`);
    /// for characters and symbols they are an error.
    public func encode(_ text: String, unknown: inout [String]) throws -> [Int32] {
        let tokens = model.source.tokens(text)
        guard !tokens.isEmpty else { throw LoomError.invalidArgument("an empty source cannot be translated") }
        var missing: [String] = []
        let ids = model.source.encode(tokens, unknown: &missing)
        if !missing.isEmpty && model.source.units != .word && model.source.units != .bpe {
            let list = Array(Set(missing)).sorted().map { "'\($0)'" }.joined(separator: ", ")
            throw LoomError.invalidArgument("\"\(text)\" has symbols the model never saw: \(list)")
        }
        unknown += missing
        return ids
    }

    func workspace(batch: Int, sourceSteps: Int) throws -> Seq2SeqModel.Workspace {
        let key = "\(batch)x\(sourceSteps)"
        if let ws = workspaces[key] { return ws }
        if workspaces.count > 32 { workspaces.removeAll() }
        let ws = try model.workspace(batch: batch, sourceSteps: sourceSteps, targetSteps: 1, training: false)
        workspaces[key] = ws
        return ws
    }

    private func logs(_ p: ArraySlice<Float>) -> [Float] { p.map { logf(max($0, .leastNonzeroMagnitude)) } }

    /// Greedy decoding of many sources, in batches of up to `batch` sources of similar length.
    public func greedy(_ sources: [[Int32]], batch: Int = 64) throws -> [Output] {
        var results = [Output?](repeating: nil, count: sources.count)
        let order = sources.indices.sorted { sources[$0].count < sources[$1].count }
        var start = 0
        let v = model.target.count
        while start < order.count {
            let chunk = Array(order[start..<min(start + batch, order.count)])
            start += chunk.count
            let b = chunk.count, s = chunk.map { sources[$0].count }.max()!
            let ws = try workspace(batch: b, sourceSteps: s)
            try model.upload(sources: chunk.map { sources[$0] }, targets: [[Int32]](repeating: [], count: b), into: ws)
            try model.encode(ws, training: false, step: 0)
            var symbols = [Int32](repeating: SequenceVocabulary.start, count: b)
            var outputs = [[Int32]](repeating: [], count: b)
            var scores = [Double](repeating: 0, count: b)
            var done = [Bool](repeating: false, count: b)
            let limits = chunk.map { limit(sources[$0]) }
            for _ in 0...limits.max()! {
                let probs = try model.backend.floats(try model.step(ws, symbols: symbols))
                for k in 0..<b where !done[k] {
                    let row = probs[(k * v)..<((k + 1) * v)]
                    var best = row.startIndex
                    for i in row.indices where row[i] > row[best] { best = i }
                    let id = Int32(best - row.startIndex)
                    scores[k] += Double(logf(max(row[best], .leastNonzeroMagnitude)))
                    if id == SequenceVocabulary.end || outputs[k].count == limits[k] {
                        done[k] = true
                    } else {
                        outputs[k].append(id)
                    }
                    symbols[k] = id
                }
                if done.allSatisfy({ $0 }) { break }
            }
            for (k, i) in chunk.enumerated() {
                results[i] = Output(ids: outputs[k], text: model.target.decode(outputs[k]), logProbability: scores[k])
            }
        }
        return results.map { $0! }
    }

    /// Decodes one source with `decoding` (beam search, greedy or sampling).
    public func decode(_ source: [Int32], decoding: Decoding, seed: UInt64 = 1) throws -> Output {
        var width = 1
        if case let .beam(w, _) = decoding { width = w }
        let scorer = try Seq2SeqScorer(translator: self, source: source, width: width)
        let result = try SequenceDecoder.decode(scorer, decoding: decoding, length: limit(source) + 1,
                                                stop: SequenceVocabulary.end, seed: seed)
        var ids = result.symbols
        if ids.last == SequenceVocabulary.end { ids.removeLast() }
        return Output(ids: ids, text: model.target.decode(ids), logProbability: result.logProbability)
    }

    /// Decodes every source: batched greedy, or beam search one by one.
    public func translate(_ sources: [[Int32]], decoding: Decoding) throws -> [Output] {
        if case .greedy = decoding { return try greedy(sources) }
        return try sources.map { try decode($0, decoding: decoding) }
    }
}

/// One source as a `StepScorer`: `width` decoder rows over `width` copies of its encoding.
final class Seq2SeqScorer: StepScorer {
    let model: Seq2SeqModel
    let ws: Seq2SeqModel.Workspace
    let width: Int
    let scratch: Tensor
    /// `(width)` int32: each row's parent, uploaded per reordering step.
    let parents: Tensor

    init(translator: Translator, source: [Int32], width: Int) throws {
        model = translator.model
        self.width = width
        ws = try translator.workspace(batch: width, sourceSteps: source.count)
        scratch = try model.backend.zeros([width, model.config.hidden])
        parents = try model.backend.zeros([width], dtype: .int32)
        try model.upload(sources: [[Int32]](repeating: source, count: width), targets: [[Int32]](repeating: [], count: width),
                         into: ws)
    }

    private func rows(_ probs: [Float], _ n: Int) -> [[Float]] {
        let v = model.target.count
        return (0..<n).map { k in probs[(k * v)..<((k + 1) * v)].map { logf(max($0, .leastNonzeroMagnitude)) } }
    }

    func start() throws -> [Float] {
        try model.encode(ws, training: false, step: 0)
        let probs = try model.step(ws, symbols: [Int32](repeating: SequenceVocabulary.start, count: width))
        return rows(try model.backend.floats(probs.rows(0..<1)), 1)[0]
    }

    func advance(parents: [Int], symbols: [Int32]) throws -> [[Float]] {
        let n = symbols.count
        if parents != Array(0..<n) {
            try model.backend.upload(parents.map(Int32.init) + [Int32](repeating: 0, count: width - n), to: self.parents)
            try model.reorder(ws, parents: self.parents, scratch: scratch)
        }
        let fed = symbols + [Int32](repeating: SequenceVocabulary.end, count: width - n)
        let probs = try model.step(ws, symbols: fed)
        return rows(try model.backend.floats(probs), n)
    }
}
