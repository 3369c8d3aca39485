import Foundation
import Loom
import LoomTensorBoard
import XCTest

/// `--tensorboard` event files, read back by the real `tensorboard` package.
final class TensorBoardTests: XCTestCase {
    /// A character LSTM trained with a TensorBoard writer: TensorBoard's own EventAccumulator
    /// finds the loss, perplexity and rate at every report step and the validation perplexity,
    /// with the values of the run log written beside it.
    func testTensorBoardReadsTheTrainingCurves() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-tb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let textURL = dir.appendingPathComponent("text.txt")
        try String(repeating: "the cat sat on a mat ", count: 60).write(to: textURL, atomically: true, encoding: .utf8)
        var c = CharLSTMConfig()
        c.hidden = 8
        c.batchSize = 4
        c.unrollings = 5
        c.steps = 12
        c.validSize = 60
        let trainer = try CharLSTMTrainer(text: try CharacterText.load(textURL, alphabet: .text8), config: c,
                                          backend: TestBackends.cpu)
        trainer.reportEvery = 4
        trainer.evalEvery = 6
        let logURL = dir.appendingPathComponent("run.jsonl")
        let events = dir.appendingPathComponent("tb")
        trainer.log = RunRecorders([try RunLog(logURL), try TensorBoardWriter(folder: events)])
        _ = try trainer.run()
        let history = try RunLog.read(from: logURL)

        let script = """
            import json, sys
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
            acc = EventAccumulator(json.load(sys.stdin)["dir"])
            acc.Reload()
            out = {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}
            print(json.dumps(out))
            """
        let r = try runPython(script, input: ["dir": events.path], needs: "tensorboard")
        guard !r.isEmpty else { return }
        for tag in ["loss", "perplexity", "lr", "steps_per_sec", "valid_perplexity"] {
            let theirs = (r[tag] as? [[NSNumber]] ?? []).map { ($0[0].intValue, $0[1].doubleValue) }
            let (x, y) = history.series(tag)
            XCTAssertFalse(x.isEmpty, tag)
            XCTAssertEqual(theirs.map(\.0), x.map { Int($0) }, tag)
            for (t, mine) in zip(theirs, y) { XCTAssertEqual(t.1, mine, accuracy: 1e-6 * max(1, abs(mine)), tag) }
        }
    }

    /// CRC-32C known answers (RFC 3720's test vectors) and TensorFlow's mask.
    func testCRC32C() {
        XCTAssertEqual(TFRecord.crc32c(Data(repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(TFRecord.crc32c(Data(repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(TFRecord.crc32c(Data((0..<32).map(UInt8.init))), 0x46DD_794E)
        XCTAssertEqual(TFRecord.crc32c(Data("123456789".utf8)), 0xE306_9283)
    }
}
