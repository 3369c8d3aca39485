import Foundation
import Loom
import XCTest

/// Data parallelism: how work is split among ranks, and real jobs of `mpirun -np 2 loom …` on
/// this machine (loopback), compared with one rank. The jobs need Open MPI's `mpirun` (CI
/// installs it; elsewhere they are skipped with a message).
final class DistributedTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("loom-mpi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    // MARK: Splitting the work

    /// Every item in exactly one rank's range, in rank order, sizes within one of each other.
    func testShardsCoverEveryItemOnce() {
        for ranks in [1, 2, 3, 7, 64] {
            for count in [0, 1, 2, 5, 63, 64, 65, 1000, 1_000_003] {
                let ranges = (0..<ranks).map { Shard(rank: $0, of: ranks).range(count) }
                XCTAssertEqual(ranges.first?.lowerBound, 0)
                XCTAssertEqual(ranges.last?.upperBound, count)
                for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
                let sizes = ranges.map(\.count)
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "\(count) over \(ranks)")
            }
        }
        // No overflow for counts near Int.max.
        XCTAssertEqual(Shard(rank: 1, of: 2).range(Int.max).upperBound, Int.max)
    }

    /// A rank's segment holds exactly its cursors' columns of the global batch's segment.
    func testRankCursorsAreColumnsOfTheGlobalBatch() {
        let ids = (0..<500).map { UInt16($0 % 27) }
        let b = 7, t = 5
        let whole = TextBatches(ids: ids, batch: b, unrollings: t, alphabetSize: 27, bigram: true)
        for step in [0, 3, 41] {
            var inputs: [Int32] = [], labels: [Int32] = []
            whole.segment(step, inputs: &inputs, labels: &labels)
            for rank in 0..<3 {
                let cursors = Shard(rank: rank, of: 3).range(b)
                let part = TextBatches(ids: ids, batch: b, cursors: cursors, unrollings: t, alphabetSize: 27, bigram: true)
                var pi: [Int32] = [], pl: [Int32] = []
                part.segment(step, inputs: &pi, labels: &pl)
                let expected = (0..<t).flatMap { i in cursors.map { i * b + $0 } }
                XCTAssertEqual(pi, expected.map { inputs[$0] })
                XCTAssertEqual(pl, expected.map { labels[$0] })
            }
        }
    }

    /// The ranks' shards of a corpus are runs of whole sentences that hold every word once.
    func testCorpusShardsHoldEveryWordOnce() throws {
        let url = folder.appendingPathComponent("c.txt")
        try Data((0..<2500).map { "w\($0 % 37)" }.joined(separator: " ").utf8).write(to: url)
        let corpus = try Corpus.load(url, options: CorpusOptions(maxVocabulary: nil, minCount: 1))
        for ranks in [1, 2, 3, 4] {
            let shards = (0..<ranks).map { corpus.shard(Shard(rank: $0, of: ranks)) }
            XCTAssertEqual(shards.flatMap(\.ids), Array(corpus.ids), "\(ranks) ranks")
            for s in shards.dropLast() { XCTAssertEqual(s.ids.count % 1000, 0) }
            XCTAssertTrue(shards.allSatisfy { $0.vocabulary.words == corpus.vocabulary.words })
        }
    }

    /// One process is a job of one rank whose collectives change nothing.
    func testSingleProcessIsAJobOfOne() throws {
        let one = SingleProcess()
        var values: [Float] = [1, 2, 3]
        try one.allreduceSum(&values)
        XCTAssertEqual(values, [1, 2, 3])
        XCTAssertEqual(try one.gather([4, 5], root: 0), [4, 5])
        XCTAssertEqual(one.messagePrefix, "")
        XCTAssertTrue(one.isRoot)
    }

    // MARK: Jobs of two ranks

    /// `mpirun`, with what running as root in CI needs; skipped outside CI when Open MPI is absent.
    func mpirun() throws -> URL {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent("mpirun")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail("mpirun is not installed (scripts/setup.sh installs openmpi-bin)")
        }
        throw XCTSkip("the two-rank jobs are skipped: Open MPI's mpirun is not installed (apt install openmpi-bin)")
    }

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["LOOM_DEVICE"] = nil
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        return env
    }

    /// `loom arguments` on `ranks` ranks (1: without mpirun).
    func job(_ ranks: Int, _ arguments: [String]) throws -> ProcessOutcome {
        let loom = try builtLoomExecutable()
        if ranks == 1 { return try runProcess(loom, arguments, environment: environment, scratch: folder) }
        return try runProcess(try mpirun(), ["-np", "\(ranks)", "--oversubscribe", loom.path] + arguments,
                              environment: environment, scratch: folder)
    }

    lazy var text: String = {
        // Words enough for 16 cursors of a small model; unit tests make their own data.
        let words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far", "away", "from", "home"]
        var rng = SeededGenerator(seed: 3)
        let body = (0..<6000).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ")
        let url = folder.appendingPathComponent("text.txt")
        try? Data(body.utf8).write(to: url)
        return url.path
    }()

    func lstm(_ extra: [String]) -> [String] {
        ["lstm", "train", "--text", text, "--hidden", "24", "--batch-size", "12", "--unrollings", "6",
         "--report-every", "5", "--eval-every", "0", "--valid-size", "200", "--device", "cpu", "--optimizer", "adam",
         "--layers", "2", "--embedding", "8"] + extra
    }

    /// (step, loss) of every training report in a run log.
    func losses(_ path: String) throws -> [(Int, Double)] {
        try RunLog.read(from: URL(fileURLWithPath: path)).records.compactMap { r in r.loss.map { (r.step, $0) } }
    }

    func assertSameLosses(_ a: [(Int, Double)], _ b: [(Int, Double)], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.map(\.0), b.map(\.0), file: file, line: line)
        for ((step, x), (_, y)) in zip(a, b) {
            XCTAssertEqual(x, y, accuracy: 1e-4 + 1e-4 * abs(x), "step \(step)", file: file, line: line)
        }
    }

    /// The issue's test: two ranks, each with half of the global batch, give one rank's losses.
    func testTwoRanksFollowOneRanksLosses() throws {
        let one = folder.appendingPathComponent("one.jsonl").path, two = folder.appendingPathComponent("two.jsonl").path
        let single = try job(1, lstm(["--steps", "30", "--log", one]))
        XCTAssertEqual(single.status, 0, single.errors)
        let pair = try job(2, lstm(["--steps", "30", "--log", two]))
        XCTAssertEqual(pair.status, 0, pair.errors)
        XCTAssertTrue(pair.output.contains("on 2 ranks"), pair.output)
        XCTAssertEqual(pair.output.components(separatedBy: "validation perplexity").count,
                       single.output.components(separatedBy: "validation perplexity").count, "rank 0 alone prints: \(pair.output)")
        XCTAssertTrue(pair.errors.contains("rank 1: cursors 6..<12"), pair.errors)
        let a = try losses(one), b = try losses(two)
        XCTAssertEqual(a.count, 6)
        assertSameLosses(a, b)
        XCTAssertGreaterThan(a.first!.1 - a.last!.1, 0.3, "the model learns")
    }

    /// Sequence to sequence and captioning share the data parallelism: each rank takes its part of
    /// every batch, weighted by its share of the batch's targets, and two ranks give one's losses.
    func testSeq2SeqAndCaptionOnTwoRanksFollowOneRank() throws {
        // Captions: bright pictures are "light", dark ones "dark", half of each row "left"/"right".
        var set: [CaptionedImage] = []
        var rng = SeededGenerator(seed: 9)
        for i in 0..<60 {
            let bright = i % 2 == 0, left = i % 3 == 0
            let pixels = (0..<64).map { p -> UInt8 in
                let base: UInt8 = bright ? 200 : 40
                return (p % 8 < 4) == left ? base : UInt8(truncatingIfNeeded: Int(base) / 2 + Int(rng.next() % 16))
            }
            set.append(CaptionedImage(name: "i\(i).png", image: GrayImage(width: 8, height: 8, pixels: pixels),
                                      captions: ["\(bright ? "light" : "dark") \(left ? "left" : "right")"]))
        }
        let images = folder.appendingPathComponent("images")
        try CaptionFile.write(set, to: images)
        let runs: [(String, [String])] = [
            ("seq2seq", ["seq2seq", "train", "--task", "reverse-words", "--text", text, "--windows", "600", "--hidden", "16",
                         "--embedding", "8", "--batch-size", "10", "--steps", "20", "--report-every", "5", "--eval-every", "0",
                         "--device", "cpu"]),
            ("caption", ["caption", "train", "--images", images.path, "--size", "8", "--channels", "4", "--hidden", "16",
                         "--embedding", "8", "--batch-size", "9", "--steps", "20", "--report-every", "5", "--eval-every", "0",
                         "--valid-fraction", "0.1", "--device", "cpu"]),
        ]
        // A batch of one pair: rank 0 has nothing in every step, adds a zero gradient and steps too.
        let lonely = ("seq2seq-1", runs[0].1.map { $0 == "10" ? "1" : $0 })
        for (name, args) in runs + [lonely] {
            let one = folder.appendingPathComponent("\(name)1.jsonl").path, two = folder.appendingPathComponent("\(name)2.jsonl").path
            let single = try job(1, args + ["--log", one])
            XCTAssertEqual(single.status, 0, "\(name): \(single.errors)")
            let pair = try job(2, args + ["--log", two])
            XCTAssertEqual(pair.status, 0, "\(name): \(pair.errors)")
            let a = try losses(one)
            XCTAssertEqual(a.count, 4, name)
            assertSameLosses(a, try losses(two))
        }
    }

    /// A checkpoint written by two ranks resumes on one, and one rank's on two, each continuing
    /// as the uninterrupted run.
    func testCheckpointsMoveBetweenOneAndTwoRanks() throws {
        let straight = folder.appendingPathComponent("straight.jsonl").path
        XCTAssertEqual(try job(1, lstm(["--steps", "30", "--log", straight])).status, 0)
        let reference = try losses(straight).filter { $0.0 > 15 }
        for (first, second) in [(2, 1), (1, 2)] {
            let checkpoint = folder.appendingPathComponent("c\(first).safetensors").path
            let log = folder.appendingPathComponent("resumed\(first).jsonl").path
            let start = try job(first, lstm(["--steps", "15", "--checkpoint", checkpoint]))
            XCTAssertEqual(start.status, 0, start.errors)
            let rest = try job(second, lstm(["--steps", "30", "--resume", checkpoint, "--log", log]))
            XCTAssertEqual(rest.status, 0, rest.errors)
            assertSameLosses(try losses(log), reference)
        }
    }

    /// The whole number right after `prefix` on each line of `text` that has it.
    func numbers(_ text: String, after prefix: String) -> [Int] {
        text.split(separator: "\n").compactMap { line in
            guard let r = line.range(of: prefix) else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }
    }

    /// word2vec on two ranks (Ji et al.): each rank trains its shard and the models are averaged;
    /// every word is trained once per epoch across the ranks; rank 0 alone writes the vectors;
    /// the job's checkpoint resumes on one rank.
    func testWord2VecOnTwoRanks() throws {
        let vectors = folder.appendingPathComponent("v.bin").path, checkpoint = folder.appendingPathComponent("w.safetensors").path
        let args = ["word2vec", "train", "--corpus", text, "--loss", "negative", "--window", "3", "--optimizer", "sgd",
                    "--dim", "16", "--min-count", "1", "--eval-every", "0", "--device", "cpu", "--sync-words", "1000",
                    "--checkpoint", checkpoint]
        let run = try job(2, args + ["--epochs", "2", "--output", vectors])
        XCTAssertEqual(run.status, 0, run.errors)
        XCTAssertTrue(run.output.contains("on 2 ranks"), run.output)
        let shards = numbers(run.errors, after: ": shard of "), trained = numbers(run.errors, after: ": trained ")
        XCTAssertEqual(shards.count, 2, run.errors)
        XCTAssertEqual(shards.reduce(0, +), 6000)
        XCTAssertEqual(trained.reduce(0, +), 2 * 6000, "every word once per epoch across the ranks: \(run.errors)")
        let averages = numbers(run.errors, after: "words; ")
        XCTAssertEqual(averages.count, 2)
        XCTAssertGreaterThanOrEqual(averages.min() ?? 0, 6, "averaged every 1000 words per rank")
        XCTAssertTrue(FileManager.default.fileExists(atPath: vectors))

        let log = folder.appendingPathComponent("w.jsonl").path
        let resumed = try job(1, args + ["--epochs", "3", "--resume", checkpoint, "--log", log,
                                         "--output", folder.appendingPathComponent("v3.bin").path])
        XCTAssertEqual(resumed.status, 0, resumed.errors)
        XCTAssertEqual(try RunLog.read(from: URL(fileURLWithPath: log)).records.last?.words, 3 * 6000)
    }

    /// A rank killed mid-run ends the job with an error (Open MPI's message names it), not a hang.
    func testKilledRankEndsTheJob() throws {
        let loom = try builtLoomExecutable().path
        let args = lstm(["--steps", "100000000"])
        let started = Date()
        let outcome = try runProcess(try mpirun(), ["-np", "1", "--oversubscribe", loom] + args
                                        + [":", "-np", "1", "/usr/bin/timeout", "-s", "KILL", "3", loom] + args,
                                     environment: environment, scratch: folder)
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 60, "the job ended soon after the rank died")
        XCTAssertTrue(outcome.errors.contains("rank 1") && outcome.errors.contains("signal 9"), outcome.errors.suffix(2000).description)
    }

    /// An error on one rank (here its device from a `--device` list) ends the job, naming the rank.
    func testOneRanksErrorEndsTheJobNamingIt() throws {
        let outcome = try job(2, lstm(["--steps", "10"]).map { $0 == "cpu" ? "cpu,opencl:97:0" : $0 })
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.errors.contains("rank 1: Error:"), outcome.errors)
        XCTAssertTrue(outcome.errors.contains("rank 0: using CPU backend"), outcome.errors)
        // Too few cursors for the ranks: every rank says so, the job ends.
        let small = try job(2, lstm(["--steps", "10"]).map { $0 == "12" ? "1" : $0 })
        XCTAssertNotEqual(small.status, 0)
        XCTAssertTrue(small.errors.contains("smaller than the 2 ranks"), small.errors)
    }
}
