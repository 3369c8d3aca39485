import Foundation
import Loom

/// The data-parallel job this process is a rank of (`mpirun -np N loom …`), one rank otherwise.
/// Rank 0 alone shows progress, prints results and writes logs, checkpoints and vectors; every
/// rank reports its own device and errors, prefixed with its rank.
enum Job {
    nonisolated(unsafe) static var current: any Communicator = SingleProcess()
    static var isRoot: Bool { current.isRoot }
    static var size: Int { current.size }
}

/// A message on standard error from every rank, prefixed with the rank in a job of several.
func writeRankError(_ text: String) {
    FileHandle.standardError.write(Data((Job.current.messagePrefix + text + "\n").utf8))
}
