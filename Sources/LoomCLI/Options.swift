import ArgumentParser
import Foundation
import Loom
import Logging

/// Device flags shared by every command that computes.
struct DeviceOptions: ParsableArguments {
    @Option(help: "cpu, opencl, opencl:PLATFORM:DEVICE or auto (default: $LOOM_DEVICE, else auto).")
    var device: String?

    @Option(help: "CPU backend threads (default: one per core); an OpenCL device does not use them.")
    var threads: Int?

    /// Opens the device and says which one runs. When `--threads` was given but the device is not
    /// the CPU backend (`auto` may pick either), says so on standard error, even when `quiet`:
    /// every command that computes goes through here, so all of them treat `--threads` alike.
    /// - Parameter hostThreadsUse: what `--threads` still sets on the host with an OpenCL device
    ///   (t-SNE's affinities and Barnes-Hut), or nil when it sets nothing.
    func open(quiet: Bool = false, hostThreadsUse: String? = nil) throws -> any Backend {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        // Ranks on one machine share its cores, and a list of devices gives one to each rank.
        let localRanks = MPIJob.localSize
        let defaultThreads = localRanks > 1 ? max(1, ProcessInfo.processInfo.activeProcessorCount / localRanks) : nil
        let selected = try DeviceSelection.open(try DeviceRequest.resolve(Self.pick(device, rank: MPIJob.localRank)),
                                                threads: threads ?? defaultThreads)
        if !quiet { Job.size > 1 ? writeRankError(selected.explanation) : writeError(selected.explanation) }
        if let note = DeviceSelection.threadsNote(threads: threads, backend: selected.backend, hostUse: hostThreadsUse) {
            writeError(note)
        }
        return selected.backend
    }

    /// Item `rank` (modulo the count) of a comma-separated `--device` list such as
    /// `opencl:0:0,opencl:0:1`: one device per rank on a machine of several.
    static func pick(_ device: String?, rank: Int) -> String? {
        guard let device, device.contains(",") else { return device }
        let items = device.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return items[rank % items.count]
    }
}

/// Sets up swift-log once: warnings by default, `LOOM_LOG_LEVEL=debug|info|…` for more.
func bootstrapLogging() {
    let level = ProcessInfo.processInfo.environment["LOOM_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}

/// A message on standard error (rank 0's only, in a job of several ranks).
func writeError(_ text: String) {
    guard Job.isRoot else { return }
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

extension Word2VecConfig.Model: ExpressibleByArgument {}
extension Word2VecConfig.Loss: ExpressibleByArgument {}
extension Word2VecConfig.Optimizer: ExpressibleByArgument {}
extension TokenNormalization: ExpressibleByArgument {}
extension CorpusOptions.OutOfVocabulary: ExpressibleByArgument {}

/// What the training commands do with checkpoints, logs and resuming.
protocol CheckpointedTrainer: AnyObject {
    func resume(from url: URL) throws
    var log: (any RunRecorder)? { get set }
    var checkpointURL: URL? { get set }
    var saveEvery: Int? { get set }
}

extension CharLSTMTrainer: CheckpointedTrainer {}
extension Seq2SeqTrainer: CheckpointedTrainer {}

/// Checkpoint, log and resume flags shared by the training commands.
struct RunFileOptions: ParsableArguments {
    @Option(help: "Checkpoint file (written atomically every --save-every steps and at the end).")
    var checkpoint: String?
    @Option(help: "Steps between checkpoints.")
    var saveEvery = 1000
    @Option(help: "Append a JSON line per report to this file (for `loom plot`).")
    var log: String?
    @Option(help: "Write TensorBoard event files (loss, perplexity, rates, learning rate, validation) into this folder.")
    var tensorboard: String?
    @Option(help: "Continue the run saved in this checkpoint.")
    var resume: String?

    /// Resumes `trainer` when asked, opens the log (appending when resuming), sets the checkpoints.
    func apply(to trainer: CheckpointedTrainer) throws {
        if let resume {
            try trainer.resume(from: URL(fileURLWithPath: resume))
            writeError("resumed from \(resume)")
        }
        // Rank 0 alone writes the log; every rank takes part in a checkpoint (rank 0 writes it).
        trainer.log = Job.isRoot ? try runRecorder(log: log, tensorboard: tensorboard, appending: resume != nil) : nil
        if let checkpoint {
            trainer.checkpointURL = URL(fileURLWithPath: checkpoint)
            trainer.saveEvery = max(1, saveEvery)
        }
    }
}

/// The run log (`--log`, appended to when resuming) and TensorBoard writer (`--tensorboard`) asked
/// for, as one recorder; nil for neither.
func runRecorder(log: String?, tensorboard: String?, appending: Bool) throws -> (any RunRecorder)? {
    var recorders: [any RunRecorder] = []
    if let log { recorders.append(try RunLog(URL(fileURLWithPath: log), append: appending)) }
    if let tensorboard { recorders.append(try TensorBoardWriter(folder: URL(fileURLWithPath: tensorboard))) }
    return recorders.count > 1 ? RunRecorders(recorders) : recorders.first
}

/// Decoding flags of `seq2seq translate`/`eval` and `caption describe`/`eval`.
struct DecodingOptions: ParsableArguments {
    @Option(help: "Beam search with this many beams (default 4).")
    var beam: Int?
    @Flag(help: "Greedy decoding (batched; fastest).")
    var greedy = false
    @Flag(inversion: .prefixedNo, help: "Beam search: rank finished outputs by log-probability per symbol.")
    var lengthNormalization = true
    @Option(help: "Longest output in symbols (default: the model's --max-length).")
    var maxOutput: Int?

    func validate() throws {
        if greedy && beam != nil { throw ValidationError("choose one of --greedy and --beam") }
        if let beam, beam < 1 { throw ValidationError("--beam must be at least 1") }
        if let maxOutput, maxOutput < 1 { throw ValidationError("--max-output must be at least 1") }
    }

    var decoding: Decoding { greedy ? .greedy : .beam(width: beam ?? 4, lengthNormalization: lengthNormalization) }
}
