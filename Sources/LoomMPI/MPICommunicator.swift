import CMPI
import Foundation
import LoomCore

/// The job Loom runs in: Open MPI's world when `mpirun` started this process, one process otherwise.
public enum MPIJob {
    /// Whether a launcher started this process as one rank of a job (Open MPI's `mpirun` sets
    /// `OMPI_COMM_WORLD_SIZE`; a PMIx launcher such as Slurm's `srun --mpi=pmix` sets `PMIX_RANK`).
    public static var isLaunched: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
    }

    /// Ranks of this job on this machine (`OMPI_COMM_WORLD_LOCAL_SIZE`), 1 when not launched.
    public static var localSize: Int {
        ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init).map { max(1, $0) } ?? 1
    }

    /// This rank's index among the ranks on this machine, 0 when not launched.
    public static var localRank: Int {
        ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_RANK"].flatMap(Int.init) ?? 0
    }

    /// Joins the job: `MPI_Init_thread` when launched by `mpirun`, a `SingleProcess` otherwise
    /// (so a plain `loom …` never loads MPI's runtime).
    public static func start() throws -> any Communicator {
        isLaunched ? try MPICommunicator() : SingleProcess()
    }
}

/// `MPI_COMM_WORLD` with errors returned (`MPI_ERRORS_RETURN`) and mapped to `LoomError.io`
/// naming the rank and the call. Buffers of more than 2³⁰ elements go in pieces (MPI counts are
/// `int`). Collectives run on the calling thread; Loom calls them from one thread only
/// (`MPI_THREAD_FUNNELED`).
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    private let world: MPI_Comm
    private var finished = false
    private static let piece = 1 << 30

    init() throws {
        var provided: Int32 = 0
        let code = MPI_Init_thread(nil, nil, loom_mpi_thread_funneled(), &provided)
        guard code == loom_mpi_success() else {
            throw LoomError.io("MPI_Init_thread failed (\(code)): is this process started by a matching mpirun?")
        }
        world = loom_mpi_comm_world()
        var r: Int32 = 0, n: Int32 = 0
        MPI_Comm_set_errhandler(world, loom_mpi_errors_return())
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &n)
        rank = Int(r)
        size = Int(n)
    }

    deinit { if !finished { MPI_Finalize() } }

    private func check(_ code: Int32, _ call: String) throws {
        guard code != loom_mpi_success() else { return }
        var text = [CChar](repeating: 0, count: Int(loom_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        throw LoomError.io("rank \(rank): \(call) failed: \(String(cString: text)) (another rank may have ended)")
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        try allreduceSum(UnsafeMutableRawBufferPointer(values), elementSize: 4, type: loom_mpi_float())
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {
        try allreduceSum(UnsafeMutableRawBufferPointer(values), elementSize: 8, type: loom_mpi_double())
    }

    /// An in-place sum of `bytes` (elements of `type`), in pieces of at most `piece` elements.
    private func allreduceSum(_ bytes: UnsafeMutableRawBufferPointer, elementSize: Int, type: MPI_Datatype) throws {
        let count = bytes.count / elementSize
        var start = 0
        while start < count {
            let n = min(Self.piece, count - start)
            try check(MPI_Allreduce(loom_mpi_in_place(), bytes.baseAddress! + start * elementSize, Int32(n), type,
                                    loom_mpi_sum(), world), "MPI_Allreduce")
            start += n
        }
    }

    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws {
        var start = 0
        while start < bytes.count {
            let n = min(Self.piece, bytes.count - start)
            try check(MPI_Bcast(bytes.baseAddress! + start, Int32(n), loom_mpi_byte(), Int32(root), world), "MPI_Bcast")
            start += n
        }
    }

    public func gather(_ values: [Float], root: Int) throws -> [Float]? {
        guard values.count <= Int(Int32.max) else {
            throw LoomError.invalidArgument("rank \(rank): cannot gather \(values.count) values (at most 2³¹ − 1 per rank)")
        }
        var mine = Int64(values.count)
        var counts = [Int64](repeating: 0, count: size)
        try check(MPI_Gather(&mine, 1, loom_mpi_long_long(), &counts, 1, loom_mpi_long_long(), Int32(root), world),
                  "MPI_Gather")
        let total = rank == root ? counts.reduce(0, +) : 0
        guard total <= Int64(Int32.max) else {
            throw LoomError.invalidArgument("rank \(rank): cannot gather \(total) values (at most 2³¹ − 1 in all)")
        }
        var out = [Float](repeating: 0, count: Int(total))
        var counts32 = counts.map { Int32(truncatingIfNeeded: $0) }
        var displacements = [Int32](repeating: 0, count: size)
        for i in 1..<max(1, size) { displacements[i] = displacements[i - 1] + counts32[i - 1] }
        try values.withUnsafeBufferPointer { send in
            try out.withUnsafeMutableBufferPointer { receive in
                try check(MPI_Gatherv(UnsafeMutableRawPointer(mutating: send.baseAddress), Int32(values.count), loom_mpi_float(),
                                      receive.baseAddress, &counts32, &displacements, loom_mpi_float(), Int32(root), world),
                          "MPI_Gatherv")
            }
        }
        return rank == root ? out : nil
    }

    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        MPI_Abort(world, code)
        exit(code)
    }

    public func finish() throws {
        guard !finished else { return }
        finished = true
        try check(MPI_Finalize(), "MPI_Finalize")
    }
}
