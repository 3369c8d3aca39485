import Foundation
import Loom
import XCTest

/// Size limits: a line or a word far longer than any real file holds is refused with
/// `invalidData` before it becomes a string, in every reader of text.
final class LimitTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-limits-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A file whose line `line` (1-based, of three) is `length` bytes of `x`.
    func file(_ name: String, before: String, long length: Int, after: String) throws -> URL {
        var data = Data(before.utf8)
        data.append(Data(repeating: UInt8(ascii: "x"), count: length))
        data.append(Data(after.utf8))
        let url = dir.appendingPathComponent(name)
        try data.write(to: url)
        return url
    }

    func assertInvalidData(_ body: @autoclosure () throws -> Any, _ mentions: String, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            guard case LoomError.invalidData(let message) = error else {
                return XCTFail("expected invalidData, got \(error)", line: line)
            }
            XCTAssertTrue(message.contains(mentions), "'\(message)' does not mention '\(mentions)'", line: line)
        }
    }

    func testTheFirstLongLineIsFound() {
        let text = Array("a\nbbbbb\ncc\ndddddd".utf8)
        text.withUnsafeBytes { bytes in
            XCTAssertEqual(TextLimits.firstLongLine(bytes, limit: 4).map { [$0.line, $0.length] }, [2, 5])
            XCTAssertEqual(TextLimits.firstLongLine(bytes, limit: 5).map { [$0.line, $0.length] }, [4, 6])
            XCTAssertNil(TextLimits.firstLongLine(bytes, limit: 6))
        }
    }

    /// Every line-oriented reader refuses a line one byte over the limit, naming its number.
    func testLineReadersRefuseALineOverTheLimit() throws {
        let long = TextLimits.maxLineBytes + 1
        let vectors = try WordVectors(words: ["a", "b", "c", "d"], dimension: 2, vectors: [1, 0, 0, 1, 1, 1, -1, 0])
        assertInvalidData(try vectors.evaluateAnalogies(
            file: file("analogies.txt", before: ": s\na b c d\n", long: long, after: " b c d\n")), "line 3 is")
        assertInvalidData(try vectors.evaluateSimilarity(
            file: file("pairs.txt", before: "a b 1\n", long: long, after: " b 2\n")), "line 2 is")
        assertInvalidData(try PairFile.read(file("de-en.tsv", before: "hallo\thello\n", long: long, after: "\tx\n")),
                          "line 2 is")
        assertInvalidData(try Vocabulary.read(from: file("vocab.txt", before: "the 5\n", long: long, after: " 3\n")),
                          "line 2 is")
        assertInvalidData(try RunLog.read(from: file("run.jsonl", before: "{\"step\":1,\"loss\":2}\n{\"w\":\"",
                                                         long: long, after: "\"}\n")), "line 2 is")
        let images = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        assertInvalidData(try CaptionFile.load(images: images, captions: file("captions.tsv", before: "a.png\t",
                                                                              long: long, after: "\n"), size: nil),
                          "line 1 is")
        let projector = dir.appendingPathComponent("projector")
        _ = try vectors.writeProjector(to: projector)
        var metadata = try Data(contentsOf: projector.appendingPathComponent("metadata.tsv"))
        metadata.append(Data(repeating: UInt8(ascii: "y"), count: long))
        try metadata.write(to: projector.appendingPathComponent("metadata.tsv"))
        assertInvalidData(try WordVectors.loadProjector(from: projector), "bytes long")
    }

    /// A text vector line longer than a word and D numbers can take, and a binary or text word
    /// over `maxWordBytes`, are refused; a word at the limit is read.
    func testVectorFilesRefuseHugeLinesAndWords() throws {
        assertInvalidData(try WordVectors.load(from: file("v.txt", before: "2 3\nthe 1 2 3\n", long: 10_000,
                                                           after: " 1 2 3\n")), "line 3 is 10006 bytes long")
        let longWord = String(repeating: "w", count: TextLimits.maxWordBytes + 1)
        let v = try WordVectors(words: ["a", String(repeating: "w", count: TextLimits.maxWordBytes)], dimension: 2,
                                vectors: [1, 2, 3, 4])
        for format in [VectorFormat.text, .binary] {
            let good = dir.appendingPathComponent("good-\(format)")
            try v.write(to: good, format: format)
            XCTAssertEqual(try WordVectors.load(from: good).words, v.words)
            var bytes = try Data(contentsOf: good)
            let at = bytes.range(of: Data(v.words[1].utf8))!
            bytes.replaceSubrange(at, with: Data(longWord.utf8))
            let bad = dir.appendingPathComponent("bad-\(format)")
            try bytes.write(to: bad)
            assertInvalidData(try WordVectors.load(from: bad, format: format), "bytes long")
        }
    }

    /// The corpus tokenizer refuses a word over `maxWordBytes`, at any place in its chunks, and
    /// names the byte where it starts.
    func testCorpusWordsOverTheLimitAreRefused() throws {
        let url = try file("corpus.txt", before: "the cat sat ", long: TextLimits.maxWordBytes + 1, after: " on the mat")
        for chunk in [1 << 20, 5000, 4099] {
            var tokenizer = Tokenizer(normalization: .lowercase)
            tokenizer.chunkSize = chunk
            assertInvalidData(try tokenizer.forEachWord(in: url) { _ in }, "at byte 12 is longer than 4096 bytes")
        }
        let fine = try file("fine.txt", before: "the ", long: TextLimits.maxWordBytes, after: " end")
        var lengths: [Int] = []
        var tokenizer = Tokenizer(normalization: .lowercase)
        tokenizer.chunkSize = 5000
        try tokenizer.forEachWord(in: fine) { lengths.append($0.count) }
        XCTAssertEqual(lengths, [3, TextLimits.maxWordBytes, 3])
    }
}
