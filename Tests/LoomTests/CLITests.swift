import Foundation
import Loom
import XCTest

/// The `loom` program itself, run as a process: options that would have no effect are refused or
/// noted, never silently ignored.
final class CLITests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("loom-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func loomExecutable() throws -> URL { try builtLoomExecutable() }

    typealias Outcome = ProcessOutcome

    /// Runs `loom arguments` with `LOOM_DEVICE` unset, so only `--device` chooses.
    func loom(_ arguments: [String]) throws -> Outcome {
        var environment = ProcessInfo.processInfo.environment
        environment["LOOM_DEVICE"] = nil
        return try runProcess(try loomExecutable(), arguments, environment: environment, scratch: folder)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// A tiny character model trained for 2 steps, as a checkpoint file.
    func tinyCheckpoint() throws -> String {
        let text = try write("text.txt", String(repeating: "hello world ", count: 60))
        let checkpoint = folder.appendingPathComponent("tiny.ckpt").path
        let run = try loom(["lstm", "train", "--text", text, "--hidden", "4", "--batch-size", "2", "--unrollings", "3",
                            "--steps", "2", "--valid-size", "40", "--device", "cpu", "--checkpoint", checkpoint])
        XCTAssertEqual(run.status, 0, run.errors)
        return checkpoint
    }

    // MARK: --threads

    func testThreadsNoteSaysWhenTheDeviceIgnoresThem() throws {
        XCTAssertNil(DeviceSelection.threadsNote(threads: 2, backend: TestBackends.cpu))
        let device = try TestBackends.openCL()
        XCTAssertNil(DeviceSelection.threadsNote(threads: nil, backend: device))
        let note = try XCTUnwrap(DeviceSelection.threadsNote(threads: 3, backend: device))
        XCTAssertTrue(note.contains("--threads 3 is not used") && note.contains(device.name), note)
        let tsne = try XCTUnwrap(DeviceSelection.threadsNote(threads: 3, backend: device, hostUse: "affinities"))
        XCTAssertTrue(tsne.contains("sets only the host's threads (affinities)"), tsne)
    }

    func testEveryCommandNotesThreadsOnOpenCL() throws {
        _ = try TestBackends.openCL()
        _ = try loomExecutable()
        let text = try write("text.txt", String(repeating: "hello world ", count: 60))
        let corpus = try write("corpus.txt", String(repeating: "the cat sat on the mat and the dog sat on the log ", count: 20))
        let vectors = try write("vectors.txt", "12 3\n" + (0..<12).map { "w\($0) \($0 % 3) \(Double($0) / 7) 0.5" }
            .joined(separator: "\n") + "\n")
        let commands: [(String, [String], String)] = [
            ("lstm train", ["lstm", "train", "--text", text, "--hidden", "4", "--batch-size", "2", "--unrollings", "3",
                            "--steps", "2", "--valid-size", "40"], "is not used"),
            ("word2vec train", ["word2vec", "train", "--corpus", corpus, "--output", folder.appendingPathComponent("v.bin").path,
                                "--min-count", "1", "--dim", "8", "--num-sampled", "4", "--steps", "2"], "is not used"),
            ("tsne", ["tsne", vectors, "--words", "12", "--iterations", "20", "--method", "exact",
                      "--out", folder.appendingPathComponent("w.svg").path], "sets only the host's threads"),
        ]
        for (name, arguments, expected) in commands {
            let opencl = try loom(arguments + ["--device", "opencl", "--threads", "2"])
            XCTAssertEqual(opencl.status, 0, "\(name): \(opencl.errors)")
            XCTAssertTrue(opencl.errors.contains("note: --threads 2 ") && opencl.errors.contains(expected),
                          "\(name) on OpenCL: \(opencl.errors)")
            let cpu = try loom(arguments + ["--device", "cpu", "--threads", "2"])
            XCTAssertEqual(cpu.status, 0, "\(name): \(cpu.errors)")
            XCTAssertFalse(cpu.errors.contains("--threads"), "\(name) on the CPU uses them: \(cpu.errors)")
        }
        // Generation opens the device quietly, but still says so.
        let checkpoint = try tinyCheckpoint()
        let generate = try loom(["lstm", "generate", "--checkpoint", checkpoint, "--length", "5", "--device", "opencl",
                                 "--threads", "2"])
        XCTAssertEqual(generate.status, 0, generate.errors)
        XCTAssertTrue(generate.errors.contains("note: --threads 2 is not used"), generate.errors)
    }

    // MARK: lstm generate

    func testGenerateRefusesOptionsItWouldIgnore() throws {
        let checkpoint = try tinyCheckpoint()
        let base = ["lstm", "generate", "--checkpoint", checkpoint, "--length", "5", "--device", "cpu"]
        for (extra, fragment) in [(["--greedy", "--temperature", "0.5"], "--temperature sets the sampling; --greedy"),
                                  (["--beam", "3", "--temperature", "2"], "--temperature sets the sampling; --beam"),
                                  (["--length-normalization"], "--length-normalization applies to beam search"),
                                  (["--stop", "."], "--stop applies to beam search")] {
            let run = try loom(base + extra)
            XCTAssertNotEqual(run.status, 0, "\(extra) was accepted: \(run.output)")
            XCTAssertTrue(run.errors.contains(fragment), "\(extra): \(run.errors)")
            XCTAssertEqual(run.output, "", "\(extra) generated text anyway")
        }
        // What is consistent runs.
        for extra in [["--greedy"], ["--beam", "3", "--stop", " "], ["--temperature", "0.5"], []] {
            let run = try loom(base + extra)
            XCTAssertEqual(run.status, 0, "\(extra): \(run.errors)")
            XCTAssertFalse(run.output.isEmpty, "\(extra)")
        }
    }

    // MARK: seq2seq

    func testSeq2SeqTrainTranslateEvalAndBadInput() throws {
        let rows = (0..<120).map { i -> String in
            let w = ["abc", "bca", "cab", "aab", "bba", "cc"][i % 6] + ["", "a", "bc"][i % 3]
            return "\(w)\t\(String(w.reversed()))"
        }
        let pairs = try write("pairs.tsv", rows.joined(separator: "\n") + "\n")
        let checkpoint = folder.appendingPathComponent("s.ckpt").path
        let train = try loom(["seq2seq", "train", "--pairs", pairs, "--hidden", "16", "--embedding", "8", "--steps", "30",
                              "--batch-size", "16", "--checkpoint", checkpoint, "--device", "cpu", "--eval-every", "0"])
        XCTAssertEqual(train.status, 0, train.errors)
        XCTAssertTrue(train.output.contains("validation: loss"), train.output)
        let translate = try loom(["seq2seq", "translate", "--checkpoint", checkpoint, "--greedy", "abc", "cab", "--device", "cpu"])
        XCTAssertEqual(translate.status, 0, translate.errors)
        XCTAssertEqual(translate.output.split(separator: "\n").count, 2, translate.output)
        let eval = try loom(["seq2seq", "eval", "--checkpoint", checkpoint, "--pairs", pairs, "--beam", "2", "--device", "cpu",
                             "--json", folder.appendingPathComponent("e.json").path])
        XCTAssertEqual(eval.status, 0, eval.errors)
        for line in ["exact match: ", "chrF: ", "BLEU: "] { XCTAssertTrue(eval.output.contains(line), eval.output) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("e.json").path))

        // Bad input: a clear message and a non-zero exit, never a trace.
        let noTab = try write("bad.tsv", "abc\tcba\nno tab here\n")
        let binary = try write("bin.tsv", "abc\tcba\n\u{0}\u{1}\u{2}\n")
        let lstm = try tinyCheckpoint()
        let cases: [([String], String)] = [
            (["seq2seq", "train", "--pairs", noTab, "--device", "cpu"], "bad.tsv:2: no tab"),
            (["seq2seq", "train", "--pairs", binary, "--device", "cpu"], "binary"),
            (["seq2seq", "train", "--pairs", folder.appendingPathComponent("missing.tsv").path, "--device", "cpu"], "no such file"),
            (["seq2seq", "train", "--pairs", pairs, "--max-length", "3", "--device", "cpu"], "longer than --max-length 3"),
            (["seq2seq", "translate", "--checkpoint", lstm, "abc", "--device", "cpu"], "not a sequence-to-sequence checkpoint"),
            (["seq2seq", "translate", "--checkpoint", checkpoint, "abz", "--device", "cpu"], "never saw: 'z'"),
            (["seq2seq", "train", "--device", "cpu"], "give one of --pairs and --task"),
        ]
        for (arguments, fragment) in cases {
            let run = try loom(arguments)
            XCTAssertNotEqual(run.status, 0, "\(arguments) succeeded")
            XCTAssertTrue(run.errors.contains(fragment), "\(arguments): \(run.errors)")
            XCTAssertFalse(run.errors.contains("Fatal error") || run.errors.contains("Backtrac"), run.errors)
        }
    }

    // MARK: Divergence

    /// A rate that blows the weights up stops the run at once with the step, the loss and what
    /// to try, a non-zero exit and no trace; nothing non-finite is written.
    func testDivergingRunsStopWithAClearMessage() throws {
        let text = try write("text.txt", String(repeating: "hello world ", count: 60))
        let checkpoint = folder.appendingPathComponent("lstm.ckpt").path
        let lstm = try loom(["lstm", "train", "--text", text, "--hidden", "8", "--batch-size", "4", "--unrollings", "5",
                             "--steps", "60", "--valid-size", "40", "--lr", "1e30", "--clip", "0", "--device", "cpu",
                             "--checkpoint", checkpoint, "--save-every", "1000"])
        XCTAssertNotEqual(lstm.status, 0, lstm.output)
        XCTAssertTrue(lstm.errors.contains("training diverged at step"), lstm.errors)
        XCTAssertTrue(lstm.errors.contains("try a lower --lr"), lstm.errors)
        XCTAssertFalse(lstm.errors.contains("Backtrac"), lstm.errors)
        XCTAssertFalse(FileManager.default.fileExists(atPath: checkpoint), "a diverged state was saved")

        let words = (0..<3000).map { "w\($0 % 37) v\($0 % 11)" }.joined(separator: " ")
        let corpus = try write("corpus.txt", words)
        let vectors = folder.appendingPathComponent("v.bin").path
        for model in ["skipgram", "cbow"] {
            let w2v = try loom(["word2vec", "train", "--corpus", corpus, "--model", model, "--window", "3", "--loss", "negative",
                                "--min-count", "1", "--dim", "8", "--epochs", "4", "--lr", "1e30", "--device", "cpu",
                                "--output", vectors])
            XCTAssertNotEqual(w2v.status, 0, w2v.output)
            XCTAssertTrue(w2v.errors.contains("training diverged at step 1"), "\(model): \(w2v.errors)")
            XCTAssertFalse(w2v.errors.contains("Backtrac"), w2v.errors)
            XCTAssertFalse(FileManager.default.fileExists(atPath: vectors), "\(model): vectors were written")
        }
    }

    /// `--log` and `--tensorboard` together on both kinds of trainer: a run log and one event
    /// file, whose records frame correctly (TFRecord lengths chain to the end of the file).
    func testLogAndTensorBoardTogether() throws {
        let text = try write("text.txt", String(repeating: "hello world ", count: 60))
        let corpus = try write("corpus.txt", (0..<3000).map { "w\($0 % 37) v\($0 % 11)" }.joined(separator: " "))
        let runs: [(String, [String])] = [
            ("lstm", ["lstm", "train", "--text", text, "--hidden", "4", "--batch-size", "2", "--unrollings", "3",
                      "--steps", "20", "--report-every", "5", "--valid-size", "40", "--device", "cpu"]),
            ("word2vec", ["word2vec", "train", "--corpus", corpus, "--window", "2", "--loss", "negative", "--min-count", "1",
                          "--dim", "8", "--epochs", "2", "--device", "cpu", "--output", folder.appendingPathComponent("v.bin").path]),
        ]
        for (name, arguments) in runs {
            let log = folder.appendingPathComponent("\(name).jsonl"), events = folder.appendingPathComponent("\(name)-tb")
            let run = try loom(arguments + ["--log", log.path, "--tensorboard", events.path])
            XCTAssertEqual(run.status, 0, run.errors)
            let history = try RunLog.read(from: log)
            let files = try FileManager.default.contentsOfDirectory(atPath: events.path)
            XCTAssertEqual(files.count, 1, "\(name): \(files)")
            guard let file = files.first else { continue }
            XCTAssertTrue(file.hasPrefix("events.out.tfevents."), file)
            let bytes = try Data(contentsOf: events.appendingPathComponent(file))
            var offset = 0, records = 0
            while offset + 12 <= bytes.count {
                let length = bytes[offset..<(offset + 8)].withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self).littleEndian) }
                offset += 12 + length + 4
                records += 1
            }
            XCTAssertEqual(offset, bytes.count, "\(name): the records do not frame the file")
            // The version record, then one per report that has values.
            XCTAssertEqual(records, 1 + history.records.count, name)
        }
    }
}
