import Foundation
import LoomCore
import LoomData

extension Corpus {
    /// Rank `shard`'s part of the corpus: a contiguous run of whole sentences (of
    /// `ExampleStream.sentenceLength` words, the unit the fused pass and the window batches share),
    /// with the whole vocabulary. Across the ranks the parts hold every word once.
    public func shard(_ shard: Shard) -> Corpus {
        let length = ExampleStream.sentenceLength
        let sentences = (ids.count + length - 1) / length
        let mine = shard.range(sentences)
        let part = ids.slice(min(mine.lowerBound * length, ids.count) ..< min(mine.upperBound * length, ids.count))
        return Corpus(vocabulary: vocabulary, ids: part, tokenCount: part.count, distinctWords: distinctWords)
    }
}

/// Distributed word2vec as Ji et al. (2016, arXiv:1604.04661) run it: each rank trains Hogwild on
/// its shard of the corpus, and every `syncWords` words (per rank, on average) the ranks replace
/// their models by the average of all of them — one allreduce of the whole input and output
/// matrices (optimiser state, where there is one, stays each rank's own).
///
/// Every rank calls `round` once per iteration of its training loop, also after its shard is
/// done, so the collectives line up: the ranks agree on whether anyone still trains, whether to
/// average now, how far the job has come and whether rank 0 wants a checkpoint, in one allreduce
/// of four numbers.
final class ModelAveraging {
    let communicator: any Communicator
    let syncWords: Int
    private var wordsSinceSync = 0
    private var host: [Float] = []
    /// Averages done, and the seconds they took (device → host, allreduce, host → device).
    private(set) var averages = 0
    private(set) var seconds = 0.0

    init(communicator: any Communicator, syncWords: Int) {
        self.communicator = communicator
        self.syncWords = syncWords
    }

    struct Round {
        /// Some rank has words left.
        var running: Bool
        /// Corpus words all ranks have trained so far.
        var wordsDone: Int
        /// The models were just averaged for a checkpoint rank 0 asked for (or the run ended).
        var save: Bool
    }

    /// One iteration's agreement; `words` were trained in it by this rank.
    func round(done: Bool, words: Int, wordsDone: Int, wantsSave: Bool, model: Word2VecModel) throws -> Round {
        wordsSinceSync += words
        var v = [done ? 0 : 1, Double(wordsSinceSync), Double(wordsDone), communicator.isRoot && wantsSave ? 1 : 0]
        try communicator.allreduceSum(&v)
        let running = v[0] > 0
        let save = v[3] > 0 || !running
        let average = !running || save || v[1] >= Double(syncWords) * Double(communicator.size)
        if average {
            try self.average(model)
            wordsSinceSync = 0
        }
        return Round(running: running, wordsDone: Int(v[2]), save: save)
    }

    /// Replaces the model on every rank by the mean of the ranks' models.
    func average(_ model: Word2VecModel) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let be = model.backend, scale = 1 / Float(communicator.size)
        for tensor in [model.embeddings, model.weights, model.biases] where tensor.shape.count > 0 {
            if host.count < tensor.shape.count { host = [Float](repeating: 0, count: tensor.shape.count) }
            try host.withUnsafeMutableBufferPointer { all in
                let part = UnsafeMutableBufferPointer(rebasing: all[0..<tensor.shape.count])
                try be.download(tensor, into: UnsafeMutableRawBufferPointer(part))
                try communicator.allreduceSum(part)
                for i in part.indices { part[i] *= scale }
                try be.upload(UnsafeRawBufferPointer(part), to: tensor)
            }
        }
        averages += 1
        seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
