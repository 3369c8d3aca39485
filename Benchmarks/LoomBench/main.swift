import ArgumentParser
import Foundation
import Loom

struct LoomBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loom-bench",
        abstract: "Validate Loom's ops against the CPU reference, then time them on each backend.",
        subcommands: [Ops.self, Word2VecBench.self, CorpusBench.self, LSTMBench.self, Seq2SeqBench.self, CaptionBench.self, TSNEBench.self],
        defaultSubcommand: Ops.self)
}

/// Which backends a benchmark runs on: `all` is the CPU backend and every OpenCL device.
func openBackends(_ list: String, threads: Int?, profiling: Bool) throws -> [any Backend] {
    var result: [any Backend] = []
    for item in list.split(separator: ",").map(String.init) {
        if item == "all" {
            result.append(CPUBackend(threads: threads))
            let devices = (try? OpenCLBackend.devices()) ?? []
            if devices.isEmpty { print("note: no OpenCL platform; timing the CPU backend only") }
            for d in devices {
                result.append(try OpenCLBackend(platform: d.platformIndex, device: d.deviceIndex, profiling: profiling))
            }
        } else {
            let request = try DeviceRequest(parsing: item)
            result.append(try DeviceSelection.open(request, threads: threads, profiling: profiling).backend)
        }
    }
    return result
}

/// Writes `rows` as JSON to `path` (`-` for standard output).
func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let data = try encoder.encode(value)
    if path == "-" {
        print(String(decoding: data, as: UTF8.self))
    } else {
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

struct Ops: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "GEMM, gather/scatter, fused LSTM gates, sampled softmax, optimisers: validated, then timed.")

    @Option(help: "Backends, comma-separated: all, cpu, opencl, opencl:P:D.")
    var devices = "all"
    @Option(help: "CPU threads (default: one per core).")
    var threads: Int?
    @Option(help: "Timed batches per routine (the median is reported).")
    var repeats = 7
    @Option(help: "Only routines whose name contains this text.")
    var filter: String?
    @Flag(help: "Skip the largest routines.")
    var quick = false
    @Option(help: "Also write the results as JSON to this file (- for standard output).")
    var json: String?

    func run() throws {
        let backends = try openBackends(devices, threads: threads, profiling: true)
        let harness = Harness(repeats: repeats, reference: CPUBackend(threads: threads))
        var rows: [Measurement] = []
        for routine in OpsRoutines.all(quick: quick) where filter.map(routine.name.contains) ?? true {
            for be in backends {
                let m = try harness.measure(routine, on: be is CPUBackend ? harness.reference : be)
                rows.append(m)
                FileHandle.standardError.write("\(m.routine) on \(m.backend): \(String(format: "%.4f", m.milliseconds)) ms\n"
                    .data(using: .utf8)!)
            }
            if routine.name.hasPrefix("gemm ") {
                let dims = routine.name.dropFirst(5).split(separator: " ")[0].split(separator: "x").compactMap { Int($0) }
                rows.append(measureOpenBLAS(dims[0], dims[1], dims[2], transposeB: routine.name.contains("B^T"),
                                            threads: (harness.reference as! CPUBackend).threads, harness: harness))
            }
        }
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; " + backends.map { "\($0.name) = \($0.deviceDescription)" }.joined(separator: "; "))
        printTable(rows)
        if rows.contains(where: { $0.validation.hasPrefix("FAILED") }) {
            throw ValidationError("some routines do not match the CPU reference")
        }
        if let json { try writeJSON(rows, to: json) }
    }
}

OpenBLASKernels.restartWithRecommendedCoreIfNeeded()
LoomBench.main()
