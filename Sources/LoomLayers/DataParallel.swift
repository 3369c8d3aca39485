import LoomCore

/// A trainer's view of its data-parallel job: which of a step's examples this rank takes, how
/// much of the step's gradient they carry, and the loss of the whole global batch.
///
/// Every rank builds the same global batch (batches are pure functions of the seed and the step)
/// and keeps its `Shard` of it; `ParameterStore.update` sums the weighted gradients, so every rank
/// takes the step one rank would take on the whole batch.
public struct DataParallel {
    public let communicator: any Communicator

    public init(_ communicator: any Communicator) { self.communicator = communicator }

    /// Whether the job has more than one rank.
    public var isDistributed: Bool { communicator.size > 1 }

    /// This rank's contiguous part of a step's global batch (empty when the batch has fewer
    /// examples than there are ranks).
    public func part<T>(_ batch: [T]) -> ArraySlice<T> {
        batch[Shard(communicator).range(batch.count)]
    }

    /// This rank's part of a step's `batch`; in a job, also sets `store.share` to the part's share
    /// of the batch's `targets` (the loss is a mean over targets). An empty part means this rank
    /// has nothing this step: it must still call `ParameterStore.stepWithoutExamples`.
    public func take<T>(_ batch: [T], targets: (T) -> Int, store: ParameterStore) -> [T] {
        guard isDistributed else { return batch }
        let mine = Array(part(batch))
        let all = batch.reduce(0) { $0 + targets($1) }
        store.share = all > 0 ? Float(mine.reduce(0) { $0 + targets($1) }) / Float(all) : 0
        return mine
    }

    /// The mean loss over every rank's `total` and `count` (two numbers in one allreduce).
    public func meanLoss(total: Double, count: Double) throws -> Double? {
        var sums = [total, count]
        if isDistributed { try communicator.allreduceSum(&sums) }
        return sums[1] > 0 ? sums[0] / sums[1] : nil
    }
}
