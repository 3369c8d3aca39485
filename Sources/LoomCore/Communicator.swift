import Foundation

/// The processes ("ranks") of one data-parallel job and the collectives they share. Every rank
/// calls each collective in the same order with the same sizes, as in MPI; a rank that fails
/// ends the job (`abort`) rather than leaving the others waiting.
///
/// `SingleProcess` is the one-rank job every run starts as; `LoomMPI` supplies the Open MPI one
/// when Loom is started by `mpirun`.
public protocol Communicator: AnyObject {
    /// This process's index, `0 ..< size`.
    var rank: Int { get }
    /// Number of processes in the job.
    var size: Int { get }
    /// Replaces `values` on every rank by their element-wise sum over the ranks.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws
    /// Replaces `values` on every rank by their element-wise sum over the ranks.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws
    /// Copies `bytes` of rank `root` into `bytes` of every other rank.
    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws
    /// Rank `root` receives every rank's `values`, in rank order (other ranks get nil); the ranks
    /// may send different counts.
    func gather(_ values: [Float], root: Int) throws -> [Float]?
    /// Ends the whole job with `code` after `message` went to standard error (never returns).
    func abort(_ message: String, code: Int32) -> Never
    /// Leaves the job (after the last collective).
    func finish() throws
}

extension Communicator {
    /// Whether this rank writes the job's files (logs, checkpoints, vectors) and shows progress.
    public var isRoot: Bool { rank == 0 }

    /// `allreduceSum` over a Swift array.
    public func allreduceSum(_ values: inout [Float]) throws {
        try values.withUnsafeMutableBufferPointer { try allreduceSum($0) }
    }

    /// `allreduceSum` over a Swift array.
    public func allreduceSum(_ values: inout [Double]) throws {
        try values.withUnsafeMutableBufferPointer { try allreduceSum($0) }
    }

    /// The sum of `value` over the ranks.
    public func sum(_ value: Double) throws -> Double {
        var v = [value]
        try allreduceSum(&v)
        return v[0]
    }

    /// Returns once every rank has called it.
    public func barrier() throws { _ = try sum(0) }

    /// `prefix` for messages of a multi-rank job ("rank 1: "), empty for one rank.
    public var messagePrefix: String { size > 1 ? "rank \(rank): " : "" }
}

/// A job of one process: every collective is the identity.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {}
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {}
    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws {}
    public func gather(_ values: [Float], root: Int) throws -> [Float]? { values }
    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(code)
    }
    public func finish() throws {}
}

/// How a job splits `count` items (cursors, pairs, words) among its ranks: rank `r` of `n` takes
/// the contiguous range `⌊r·count/n⌋ ..< ⌊(r+1)·count/n⌋`, so the ranges cover every item once
/// and their sizes differ by at most one.
public struct Shard: Equatable, Sendable {
    public let rank: Int
    public let ranks: Int

    public init(rank: Int, of ranks: Int) {
        precondition(ranks >= 1 && rank >= 0 && rank < ranks, "rank \(rank) of \(ranks)")
        self.rank = rank
        self.ranks = ranks
    }

    public init(_ communicator: any Communicator) { self.init(rank: communicator.rank, of: communicator.size) }

    /// This rank's share of `0 ..< count`.
    public func range(_ count: Int) -> Range<Int> {
        precondition(count >= 0, "a negative count")
        return Self.bound(count, rank, ranks) ..< Self.bound(count, rank + 1, ranks)
    }

    /// ⌊r·count/n⌋ without overflow.
    private static func bound(_ count: Int, _ r: Int, _ n: Int) -> Int {
        let (high, low) = count.multipliedFullWidth(by: r)
        return n.dividingFullWidth((high, low)).quotient
    }
}
