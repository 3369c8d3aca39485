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
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
