import ArgumentParser
import Foundation
import Loom

@main
struct LoomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loom",
        abstract: "Train and use deep models of text and sequences on OpenCL GPUs or the CPU.",
        subcommands: [Devices.self, CorpusCommand.self, Word2VecCommand.self, Neighbors.self, Analogy.self, Eval.self,
                      LSTMCommand.self, Seq2SeqCommand.self, CaptionCommand.self, TSNECommand.self, PlotCommand.self])

    static func main() {
        // Before any thread starts: a fallback choice of OpenBLAS kernels makes GEMM several times
        // slower (Benchmarks/RESULTS.md has the measured GEMM rates).
        OpenBLASKernels.restartWithRecommendedCoreIfNeeded()
        bootstrapLogging()
        // Under `mpirun`, this process is one rank of a job (MPI_Init here, before any work).
        do { Job.current = try MPIJob.start() } catch { exit(withError: error) }
        do {
            var command = try parseAsRoot()
            try command.run()
            try Job.current.finish()
        } catch {
            // One rank's error ends the whole job (MPI_Abort), so the others do not wait for it.
            let code = exitCode(for: error)
            if Job.size > 1 && code != .success {
                Job.current.abort(Job.current.messagePrefix + fullMessage(for: error), code: code.rawValue)
            }
            try? Job.current.finish()
            exit(withError: error)
        }
    }
}
