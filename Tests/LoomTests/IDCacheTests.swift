import Foundation
@testable import LoomData
import Loom
import XCTest

/// The streaming corpus: one pass for the vocabulary, the ids written once to the cache and
/// mapped; a later load maps them at once; what does not add up is rebuilt.
final class IDCacheTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("loom-ids-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func corpusFile(_ words: Int = 5000, seed: UInt64 = 1) throws -> URL {
        var rng = SeededGenerator(seed: seed)
        // Zipf-like: word k with weight 1/k, a few words past the vocabulary limit, and UNK itself.
        let text = (0..<words).map { i -> String in
            if i % 997 == 0 { return "UNK" }
            let k = Int(pow(Double(rng.next() % 10_000 + 1) / 10_000, 3) * 400)
            return "w\(k)"
        }.joined(separator: " ")
        let url = folder.appendingPathComponent("c.txt")
        try Data(text.utf8).write(to: url)
        return url
    }

    func testMappedIdsEqualTheInMemoryOnes() throws {
        let url = try corpusFile()
        let cache = folder.appendingPathComponent("cache")
        for options in [CorpusOptions(maxVocabulary: 50, minCount: 2),
                        CorpusOptions(maxVocabulary: 50, minCount: 2, outOfVocabulary: .drop)] {
            let memory = try Corpus.load(url, options: options)
            let built = try Corpus.load(url, options: options, cache: cache)
            let mapped = try Corpus.load(url, options: options, cache: cache)
            XCTAssertFalse(memory.ids.isMapped)
            XCTAssertTrue(built.ids.isMapped && mapped.ids.isMapped)
            for c in [built, mapped] {
                XCTAssertEqual(c.vocabulary, memory.vocabulary)
                XCTAssertEqual(c.vocabulary.unknownID, memory.vocabulary.unknownID)
                XCTAssertTrue(Array(c.ids) == Array(memory.ids), "the mapped ids equal the in-memory ones")
                XCTAssertEqual(c.tokenCount, memory.tokenCount)
                XCTAssertEqual(c.distinctWords, memory.distinctWords)
            }
            // A shard maps a part of the same file.
            let shard = mapped.shard(Shard(rank: 1, of: 2))
            XCTAssertTrue(shard.ids.isMapped)
            let n = memory.ids.count, first = Shard(rank: 1, of: 2).range((n + 999) / 1000).lowerBound * 1000
            XCTAssertTrue(Array(shard.ids) == Array(memory.ids[first...]), "the second shard maps ids \(first)…")
        }
        // One pair of files per options.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache.path).filter { $0.hasSuffix(".ids") }.count, 2)
    }

    func testDamagedOrStaleCachesAreRebuilt() throws {
        let url = try corpusFile()
        let cache = folder.appendingPathComponent("cache")
        let options = CorpusOptions(maxVocabulary: 80, minCount: 1)
        let reference = Array(try Corpus.load(url, options: options).ids)
        _ = try Corpus.load(url, options: options, cache: cache)
        let idsFile = try XCTUnwrap(try FileManager.default.contentsOfDirectory(at: cache, includingPropertiesForKeys: nil)
            .first { $0.pathExtension == "ids" })
        // Truncated: rebuilt, the same ids again.
        let bytes = try Data(contentsOf: idsFile)
        try bytes.prefix(bytes.count - 6).write(to: idsFile)
        XCTAssertTrue(Array(try Corpus.load(url, options: options, cache: cache).ids) == reference)
        XCTAssertEqual(try Data(contentsOf: idsFile), bytes)
        // Not an id file at all: rebuilt.
        try Data("not ids".utf8).write(to: idsFile)
        XCTAssertTrue(Array(try Corpus.load(url, options: options, cache: cache).ids) == reference)
        // The corpus changed: another key, other ids.
        try Data("alpha beta beta gamma gamma gamma".utf8).write(to: url)
        let changed = try Corpus.load(url, options: options, cache: cache)
        XCTAssertEqual(changed.vocabulary.words, ["UNK", "gamma", "beta", "alpha"])
        XCTAssertEqual(Array(changed.ids), [3, 2, 2, 1, 1, 1])
    }

    func testIDStreamViews() {
        let s = IDStream([5, 6, 7, 8, 9])
        XCTAssertEqual(Array(s.slice(1..<4)), [6, 7, 8])
        XCTAssertEqual(s.slice(1..<4).slice(1..<2).first, 7)
        XCTAssertEqual(s.slice(2..<5).withUnsafeBufferPointer { Array($0) }, [7, 8, 9])
        XCTAssertEqual(s, [5, 6, 7, 8, 9])
    }
}
