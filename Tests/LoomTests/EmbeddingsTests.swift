import Foundation
import Loom
import XCTest

/// Word vectors on the host: files, neighbours, analogies, evaluation.
final class EmbeddingsTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("loom-embeddings-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func file(_ name: String) -> URL { folder.appendingPathComponent(name) }

    private func write(_ name: String, _ text: String) throws -> URL {
        let url = file(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    private func write(_ name: String, bytes: [UInt8]) throws -> URL {
        let url = file(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// Seeded vectors with awkward floats and non-ASCII words.
    private func sample(count: Int = 40, dimension: Int = 7, counts: Bool = false) throws -> WordVectors {
        var data = TestData(seed: 7)
        var values = data.uniform(count * dimension, -2, 2)
        let special: [Float] = [0, -0.0, 1, -1, 1e-5, -3.4e38, .greatestFiniteMagnitude, .leastNonzeroMagnitude,
                                .leastNormalMagnitude, 0.1, 1.0 / 3.0, 123456.79, -7.5e-12]
        for (i, v) in special.enumerated() { values[i * 3] = v }
        let fixed = ["the", "naïve", "日本語", "😀", "Ünïcödé", "a-b_c", "</s>", "ﬁ"]
        let words = (0..<count).map { $0 < fixed.count ? fixed[$0] : "w\($0)" }
        return try WordVectors(words: words, dimension: dimension, vectors: values,
                               counts: counts ? (0..<count).map { 1000 - $0 } : nil)
    }

    private func assertBitIdentical(_ a: WordVectors, _ b: WordVectors, _ name: String,
                                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.words, b.words, name, file: file, line: line)
        XCTAssertEqual(a.dimension, b.dimension, name, file: file, line: line)
        XCTAssertEqual(a.vectors.map(\.bitPattern), b.vectors.map(\.bitPattern), name, file: file, line: line)
    }

    // MARK: Files

    func testTextAndBinaryRoundTripBitIdentical() throws {
        let v = try sample()
        for format in VectorFormat.allCases {
            let url = file("vectors-\(format).w2v")
            try v.write(to: url, format: format)
            assertBitIdentical(try WordVectors.load(from: url), v, "\(format), detected")
            assertBitIdentical(try WordVectors.load(from: url, format: format), v, "\(format), given")
            XCTAssertNil(try WordVectors.load(from: url).counts)
        }
        // A `.bin` name means binary without looking.
        let bin = file("vectors.bin")
        try v.write(to: bin, format: .binary)
        assertBitIdentical(try WordVectors.load(from: bin), v, ".bin")
        // Rewriting replaces the file.
        try v.write(to: bin, format: .binary)
        assertBitIdentical(try WordVectors.load(from: bin), v, ".bin rewritten")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(".") }, [],
                       "no temporary files left behind")
    }

    func testTextFloatsReadExactly() throws {
        // Every kind of float, from random bit patterns: the text form reads back bit-identical.
        var rng = SeededGenerator(seed: 99)
        var values: [Float] = []
        while values.count < 60_000 {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            if f.isFinite { values.append(f) }
        }
        for i in 0..<20_000 { values[i] = Float(Int(rng.next() % 2_000_001) - 1_000_000) / 1e6 }
        let v = try WordVectors(words: (0..<6_000).map { "w\($0)" }, dimension: 10, vectors: values)
        try v.write(to: file("floats.txt"), format: .text)
        assertBitIdentical(try WordVectors.load(from: file("floats.txt")), v, "random floats")

        // Spellings other tools write, each as strtof reads it.
        let spellings = ["1.50000", "-.5", "+2", "1E3", "0.000001", "1e-40", "-0", "16777217", "16777219",
                         "0.1", "123456789012345678901234", "3.4028235e38", "1.17549435e-38", "7.0e-46",
                         "0.30000001192092896", "9007199254740993", "1e22", "1e23", "4.5e-44", "00012.5000"]
        let line = "x " + spellings.joined(separator: " ")
        let loaded = try WordVectors.load(from: try write("spellings.txt", "1 \(spellings.count)\n\(line)\n"))
        for (n, text) in spellings.enumerated() {
            XCTAssertEqual(loaded.vectors[n].bitPattern, Float(text)!.bitPattern, text)
        }
    }

    func testBinaryLayoutIsWord2Vec() throws {
        let v = try WordVectors(words: ["a", "bé"], dimension: 3, vectors: [1, -2, 0.5, 0, 3.25, -0.125])
        let url = file("tiny.bin")
        try v.write(to: url, format: .binary)
        let expected: [UInt8] = Array("2 3\n".utf8)
            + [0x61, 0x20] + [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x3F] + [0x0A]
            + [0x62, 0xC3, 0xA9, 0x20] + [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x40, 0x00, 0x00, 0x00, 0xBE] + [0x0A]
        XCTAssertEqual(Array(try Data(contentsOf: url)), expected)

        let text = file("tiny.txt")
        try v.write(to: text, format: .text)
        XCTAssertEqual(String(decoding: try Data(contentsOf: text), as: UTF8.self),
                       "2 3\na 1.0 -2.0 0.5\nbé 0.0 3.25 -0.125\n")

        // gensim also reads binary records without their trailing newline.
        var bare = expected
        bare.remove(at: 4 + 2 + 12)
        bare.removeLast()
        assertBitIdentical(try WordVectors.load(from: try write("bare.bin", bytes: bare)), v, "no newlines")
        // And CRLF text with the C tool's trailing spaces.
        let crlf = try write("crlf.txt", "2 3\r\na 1 -2 0.5 \r\nbé 0 3.25 -0.125 \r\n")
        assertBitIdentical(try WordVectors.load(from: crlf), v, "CRLF text")
    }

    func testProjectorAndVocabularyFiles() throws {
        let v = try WordVectors(words: ["the", "café"], dimension: 2, vectors: [0.5, -1, 2, 1e-5], counts: [10, 3])
        let (vectors, metadata) = try v.writeProjector(to: file("projector"))
        XCTAssertEqual(vectors.lastPathComponent, "vectors.tsv")
        XCTAssertEqual(String(decoding: try Data(contentsOf: vectors), as: UTF8.self), "0.5\t-1.0\n2.0\t1e-05\n")
        XCTAssertEqual(String(decoding: try Data(contentsOf: metadata), as: UTF8.self), "word\tcount\nthe\t10\ncafé\t3\n")

        let bare = try WordVectors(words: v.words, dimension: 2, vectors: v.vectors)
        let (_, bareMetadata) = try bare.writeProjector(to: file("projector2"))
        XCTAssertEqual(String(decoding: try Data(contentsOf: bareMetadata), as: UTF8.self), "the\ncafé\n")

        // And back: both layouts, through `load` on the folder too.
        XCTAssertEqual(try WordVectors.loadProjector(from: file("projector")), v)
        XCTAssertEqual(try WordVectors.load(from: file("projector")), v)
        XCTAssertEqual(try WordVectors.loadProjector(from: file("projector2")), bare)
        try Data("0.5\t-1.0\n2.0\n".utf8).write(to: file("projector2").appendingPathComponent("vectors.tsv"))
        assertThrows("1 values, expected 2") { _ = try WordVectors.loadProjector(from: self.file("projector2")) }
        try Data("0.5\t-1.0\n".utf8).write(to: file("projector2").appendingPathComponent("vectors.tsv"))
        assertThrows("has 1 vectors but") { _ = try WordVectors.loadProjector(from: self.file("projector2")) }

        try v.writeVocabulary(to: file("vocab.txt"))
        XCTAssertEqual(String(decoding: try Data(contentsOf: file("vocab.txt")), as: UTF8.self), "the 10\ncafé 3\n")
        assertThrows("no counts") { try bare.writeVocabulary(to: self.file("vocab2.txt")) }
    }

    func testInitChecksItsInvariants() throws {
        assertThrows("7 values, expected 2 words × 3") {
            _ = try WordVectors(words: ["a", "b"], dimension: 3, vectors: [Float](repeating: 0, count: 7))
        }
        assertThrows("duplicate word 'a' (ids 0 and 2)") {
            _ = try WordVectors(words: ["a", "b", "a"], dimension: 1, vectors: [1, 2, 3])
        }
        assertThrows("contains whitespace") { _ = try WordVectors(words: ["a b"], dimension: 1, vectors: [1]) }
        assertThrows("is empty") { _ = try WordVectors(words: [""], dimension: 1, vectors: [1]) }
        assertThrows("non-finite value nan") { _ = try WordVectors(words: ["a"], dimension: 2, vectors: [1, .nan]) }
        assertThrows("dimension") { _ = try WordVectors(words: [], dimension: 0, vectors: []) }
        assertThrows("2 counts for 1 words") { _ = try WordVectors(words: ["a"], dimension: 1, vectors: [1], counts: [1, 2]) }
        let v = try WordVectors(words: ["x", "y"], dimension: 2, vectors: [1, 2, 3, 4])
        XCTAssertEqual(v.index(of: "y"), 1)
        XCTAssertNil(v.index(of: "Y"))
        XCTAssertEqual(v.vector(of: "y").map(Array.init), [3, 4])
        XCTAssertEqual(v.count, 2)
    }

    func testBadFilesAreNamedErrors() throws {
        let v = try WordVectors(words: ["alpha", "beta", "gamma"], dimension: 3,
                                vectors: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let bin = file("good.bin")
        try v.write(to: bin, format: .binary)
        let binary = Array(try Data(contentsOf: bin))
        let text = "3 3\nalpha 1 2 3\nbeta 4 5 6\ngamma 7 8 9\n"

        func expect(_ fragments: [String], _ url: URL, format: VectorFormat? = nil,
                    file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try WordVectors.load(from: url, format: format), file: file, line: line) { error in
                XCTAssertTrue(error is LoomError, "\(error)", file: file, line: line)
                for f in fragments + [url.lastPathComponent] {
                    XCTAssertTrue("\(error)".contains(f), "'\(error)' lacks '\(f)'", file: file, line: line)
                }
            }
        }
        // Truncated binary: inside the last vector, and after a whole record.
        expect(["truncated: expected 3 vectors, found 2", "vector 2 ('gamma') has 1 of 3 values"],
               try write("cut.bin", bytes: Array(binary.prefix(binary.count - 9))))
        expect(["truncated: expected 3 vectors, found 2"],
               try write("cut2.bin", bytes: Array(binary.prefix(4 + 2 * (6 + 13)))))
        // Truncated text: in the middle of a line, and at a line end.
        expect(["truncated: expected 3 vectors, found 2", "has 1 of 3 values"], try write("cut.txt", "3 3\nalpha 1 2 3\nbeta 4 5 6\ngamma 7"))
        expect(["truncated: expected 3 vectors, found 2"], try write("cut2.txt", "3 3\nalpha 1 2 3\nbeta 4 5 6\n"))
        expect(["is empty"], try write("empty.txt", ""))
        XCTAssertThrowsError(try WordVectors.load(from: file("missing.bin"))) { error in
            XCTAssertEqual(error as? LoomError, .io("cannot read word vectors from \(self.file("missing.bin").path): no such file"))
        }
        expect(["it is a folder"], folder)
        var rng = SeededGenerator(seed: 3)
        expect(["is not a word2vec vectors file"], try write("random.txt", bytes: (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }))
        expect(["is not a word2vec vectors file", "first line should be 'WORDS DIMENSION'", "found 'abc def'"],
               try write("header.txt", "abc def\nalpha 1 2 3\n"))
        expect(["is not a word2vec vectors file", "found 'the 0.1 0.2 0.3'"], try write("glove.txt", "the 0.1 0.2 0.3\n"))
        expect(["duplicate word 'beta' (vectors 1 and 2)"], try write("dup.txt", "3 3\nalpha 1 2 3\nbeta 4 5 6\nbeta 7 8 9\n"))
        var dupBinary = binary
        dupBinary.replaceSubrange((4 + 19 + 18)..<(4 + 19 + 18 + 5), with: Array("alpha".utf8))
        expect(["duplicate word 'alpha' (vectors 0 and 2)"], try write("dup.bin", bytes: dupBinary))
        expect(["line 3", "vector 1 ('beta'): value 2 'nan' is not a finite float32"],
               try write("nan.txt", "3 3\nalpha 1 2 3\nbeta 4 nan 6\ngamma 7 8 9\n"))
        expect(["value 1 'inf' is not a finite"], try write("inf.txt", "3 3\nalpha inf 2 3\nbeta 4 5 6\ngamma 7 8 9\n"))
        var nanBinary = binary
        nanBinary.replaceSubrange((4 + 19 + 5)..<(4 + 19 + 9), with: [0x00, 0x00, 0xC0, 0x7F])
        expect(["vector 1 ('beta'): value 1 is nan"], try write("nan.bin", bytes: nanBinary))
        expect(["line 4", "vector 2 ('gamma'): value 3 'x9' is not a number"],
               try write("word.txt", "3 3\nalpha 1 2 3\nbeta 4 5 6\ngamma 7 8 x9\n"))
        expect(["line 2", "vector 0 ('alpha'): value 1 'one' is not a number"],
               try write("first.txt", "3 3\nalpha one 2 3\nbeta 4 5 6\ngamma 7 8 9\n"))
        expect(["line 3", "vector 1 ('beta') has 2 of 3 values"], try write("short.txt", "3 3\nalpha 1 2 3\nbeta 4 5\ngamma 7 8 9\n"))
        expect(["vector 1 ('beta') has 4 values, expected 3"], try write("long.txt", "3 3\nalpha 1 2 3\nbeta 4 5 6 7\ngamma 7 8 9\n"))
        expect(["line 5", "more lines than the 3 vectors"], try write("more.txt", text + "delta 1 2 3\n"))
        expect(["goes on after the 3 vectors"], try write("more.bin", bytes: binary + Array("delta ".utf8) + [0, 0, 0, 0]))
        expect(["dimension 0"], try write("dim.txt", "3 0\n"))
        // Forcing text on a binary file fails cleanly too.
        XCTAssertThrowsError(try WordVectors.load(from: bin, format: .text))
        // Blank lines and a missing final newline are fine.
        XCTAssertEqual(try WordVectors.load(from: try write("blank.txt", "3 3\n\nalpha 1 2 3\n\nbeta 4 5 6\ngamma 7 8 9")), v)
        XCTAssertEqual(try WordVectors.load(from: try write("none.txt", "0 5\n")).count, 0)
    }

    // MARK: Neighbours and analogies

    /// Axes: gender, royalty, plural, fruit, vehicle, other.
    private func toyVectors() throws -> WordVectors {
        let rows: [(String, [Float])] = [
            ("man", [1, 0, 0, 0, 0, 0.1]), ("woman", [-1, 0, 0, 0, 0, 0.1]),
            ("king", [1, 1, 0, 0, 0, 0]), ("queen", [-1, 1, 0, 0, 0, 0]),
            ("apple", [0, 0, 0, 1, 0, 0]), ("apples", [0, 0, 1, 1, 0, 0]),
            ("car", [0, 0, 0, 0, 1, 0]), ("cars", [0, 0, 1, 0, 1, 0]),
            ("prince", [0.8, 0.9, 0, 0, 0, 0.3]), ("nothing", [0, 0, 0, 0, 0, 0]),
        ]
        return try WordVectors(words: rows.map(\.0), dimension: 6, vectors: rows.flatMap(\.1))
    }

    private func cos(_ x: [Double], _ y: [Double]) -> Double {
        let dot = zip(x, y).map(*).reduce(0, +)
        let nx = x.map { $0 * $0 }.reduce(0, +).squareRoot(), ny = y.map { $0 * $0 }.reduce(0, +).squareRoot()
        return nx == 0 || ny == 0 ? 0 : dot / (nx * ny)
    }

    func testNearestNeighbours() throws {
        let v = try toyVectors()
        func vec(_ w: String) -> [Double] { v.vector(of: w)!.map(Double.init) }
        let near = try v.mostSimilar(to: "king", k: 3)
        XCTAssertEqual(near.map(\.word), ["prince", "man", "queen"])
        XCTAssertEqual(Double(near[0].similarity), cos(vec("king"), vec("prince")), accuracy: 1e-6)
        XCTAssertEqual(Double(near[1].similarity), cos(vec("king"), vec("man")), accuracy: 1e-6)
        let all = try v.mostSimilar(to: "king", k: 100)
        XCTAssertEqual(all.count, 9)
        XCTAssertFalse(all.contains { $0.word == "king" })
        XCTAssertEqual(all.first { $0.word == "nothing" }?.similarity, 0, "a zero vector has similarity 0")
        XCTAssertEqual(try v.mostSimilar(to: "king", k: 2, restrictVocab: 4).map(\.word), ["man", "queen"])
        XCTAssertEqual(try v.mostSimilar(to: "king", k: 0).count, 0)
        XCTAssertEqual(Double(try v.similarity("apple", "apples")), 0.5.squareRoot(), accuracy: 1e-6)

        // A vector query ranks the word itself first; batched queries agree with single ones.
        let byVector = try v.mostSimilar(toVector: Array(v.vector(of: "king")!), k: 4)
        XCTAssertEqual(byVector.map(\.word), ["king", "prince", "man", "queen"])
        XCTAssertEqual(byVector[0].similarity, 1, accuracy: 1e-6)
        let queries = v.words.map { Array(v.vector(of: $0)!.map { $0 * 3 }) }
        let batched = try v.mostSimilar(toVectors: queries, k: 3)
        for (n, word) in v.words.enumerated() {
            let single = try v.mostSimilar(toVector: queries[n], k: 3)
            XCTAssertEqual(batched[n].map(\.word), single.map(\.word), word)
            assertClose(batched[n].map(\.similarity), single.map(\.similarity), "\(word) scores")
        }

        assertThrows("unknown word 'emperor'") { _ = try v.mostSimilar(to: "emperor") }
        assertThrows("query 0 has 2 values; these vectors have 6 dimensions") { _ = try v.mostSimilar(toVector: [1, 2]) }
        assertThrows("restrictVocab must be at least 1") { _ = try v.mostSimilar(to: "king", restrictVocab: 0) }
        assertThrows("k must not be negative") { _ = try v.mostSimilar(to: "king", k: -1) }
    }

    func testAnalogiesBothMethods() throws {
        let v = try toyVectors()
        func unit(_ w: String) -> [Double] {
            let x = v.vector(of: w)!.map(Double.init)
            let n = x.map { $0 * $0 }.reduce(0, +).squareRoot()
            return x.map { $0 / n }
        }
        // 3CosAdd: cosine with (king + woman − man) of unit vectors, as gensim.
        let add = try v.analogy("man", "king", "woman", k: 3)
        XCTAssertEqual(add[0].word, "queen")
        let target = zip(zip(unit("king"), unit("woman")), unit("man")).map { $0.0 + $0.1 - $1 }
        XCTAssertEqual(Double(add[0].similarity), cos(target, unit("queen")), accuracy: 1e-6)
        // 3CosMul: (1+cos)/2 products over the negative term plus 1e-6.
        let mul = try v.analogy("man", "king", "woman", k: 3, method: .mul)
        XCTAssertEqual(mul[0].word, "queen")
        func shifted(_ a: String, _ b: String) -> Double { (1 + cos(unit(a), unit(b))) / 2 }
        let expected = shifted("queen", "king") * shifted("queen", "woman") / (shifted("queen", "man") + 1e-6)
        XCTAssertEqual(Double(mul[0].similarity), expected, accuracy: 1e-4 * expected)

        for method in AnalogyMethod.allCases {
            XCTAssertEqual(try v.analogy("apple", "apples", "car", k: 1, method: method)[0].word, "cars", "\(method)")
            XCTAssertEqual(try v.analogy("woman", "queen", "man", k: 1, method: method)[0].word, "king", "\(method)")
            let everything = try v.analogy("man", "king", "woman", k: 100, method: method)
            XCTAssertEqual(everything.count, 7, "\(method)")
            XCTAssertTrue(Set(everything.map(\.word)).isDisjoint(with: ["man", "king", "woman"]), "\(method)")
            // With only man, woman and king as candidates, nothing is left once they are excluded.
            let restricted = try v.analogy("man", "king", "woman", method: method, restrictVocab: 3)
            XCTAssertEqual(restricted.count, 0, "\(method)")
        }
        assertThrows("unknown word 'duke'") { _ = try v.analogy("man", "duke", "woman") }
    }

    // MARK: Evaluation

    private let questions = """
        : family
        man king woman queen
        woman queen man king
        Man King Woman Queen

        man king woman prince
        man king woman emperor
        : gram-plural
        apple apples car cars
        car cars apple apples
        apple apples king kings

        """

    func testAnalogyEvaluation() throws {
        let v = try toyVectors()
        let url = try write("questions.txt", questions)
        for method in AnalogyMethod.allCases {
            let report = try v.evaluateAnalogies(file: url, method: method)
            XCTAssertEqual(report.sections, [
                .init(name: "family", correct: 3, evaluated: 4, total: 5),
                .init(name: "gram-plural", correct: 2, evaluated: 2, total: 3),
            ], "\(method)")
            XCTAssertEqual(report.summaryLine, "total accuracy: 83.3% (5/6, coverage 75.0%)")
            XCTAssertEqual(report.semantic, .init(name: "semantic", correct: 3, evaluated: 4, total: 5))
            XCTAssertEqual(report.syntactic, .init(name: "syntactic", correct: 2, evaluated: 2, total: 3))
            XCTAssertEqual(report.totals.outOfVocabulary, 2)
            XCTAssertEqual(report.restrictVocab, 10)
        }
        let sensitive = try v.evaluateAnalogies(file: url, caseInsensitive: false)
        XCTAssertEqual(sensitive.summaryLine, "total accuracy: 80.0% (4/5, coverage 62.5%)")
        // Without prince among the candidates, its question is out of vocabulary.
        XCTAssertEqual(try v.evaluateAnalogies(file: url, restrictVocab: 8).summaryLine,
                       "total accuracy: 100.0% (5/5, coverage 62.5%)")
        let four = try v.evaluateAnalogies(file: url, restrictVocab: 4)
        XCTAssertEqual(four.summaryLine, "total accuracy: 100.0% (3/3, coverage 37.5%)")
        XCTAssertEqual(four.syntactic, .init(name: "syntactic", correct: 0, evaluated: 0, total: 3))
        XCTAssertEqual(four.description.split(separator: "\n").first, "family: 100.0% (3/3, coverage 60.0%)")

        assertThrows("line 1: expected a section line ': name' before the first question, found 'man king woman queen'") {
            _ = try v.evaluateAnalogies(file: try self.write("nosection.txt", "man king woman queen\n"))
        }
        assertThrows("line 3: expected four words 'a b c d'") {
            _ = try v.evaluateAnalogies(file: try self.write("three.txt", ": s\nman king woman queen\nman king woman\n"))
        }
        assertThrows("holds no analogy questions") {
            _ = try v.evaluateAnalogies(file: try self.write("noq.txt", ": s\n\n: t\n"))
        }
        assertThrows("is empty") { _ = try v.evaluateAnalogies(file: try self.write("empty.txt", "")) }
        assertThrows("no such file") { _ = try v.evaluateAnalogies(file: self.file("absent.txt")) }
        assertThrows("not a text file") {
            _ = try v.evaluateAnalogies(file: try self.write("bin.txt", bytes: [0x3A, 0x20, 0x00, 0xFF, 0x0A]))
        }
    }

    func testSpearmanWithTies() throws {
        // Model cosines: e·f = 0, e·g = f·g = 1/√2 (a tie), e·h = −1, g·i = 3/√10, e·i = 1/√5.
        let v = try WordVectors(words: ["e", "f", "g", "h", "i"], dimension: 2,
                                vectors: [1, 0, 0, 1, 1, 1, -1, 0, 1, 2])
        let url = try write("pairs.tsv", """
            # Word 1\tWord 2\tHuman (mean)
            e\tf\t3.0
            e\tg\t5.0
            F\tG\t5.0

            e\th\t1.0
            g i 9.0
            e\ti\t2.0
            e\tunknown\t4.0

            """)
        let report = try v.evaluateSimilarity(file: url)
        // Gold ranks [3, 4.5, 4.5, 1, 6, 2], model ranks [2, 4.5, 4.5, 1, 6, 3]: ρ = 16/17.
        XCTAssertEqual(report.spearman, 16.0 / 17.0, accuracy: 1e-12)
        let gold = [3.0, 5, 5, 1, 9, 2]
        let model: [Double] = [0, 0.5.squareRoot(), 0.5.squareRoot(), -1, 3 / 10.0.squareRoot(), 1 / 5.0.squareRoot()]
        let mg: Double = gold.reduce(0, +) / 6
        let mm: Double = model.reduce(0, +) / 6
        var sgm = 0.0, sgg = 0.0, smm = 0.0
        for (g, m) in zip(gold, model) {
            sgm += (g - mg) * (m - mm)
            sgg += (g - mg) * (g - mg)
            smm += (m - mm) * (m - mm)
        }
        let r = sgm / (sgg.squareRoot() * smm.squareRoot())
        XCTAssertEqual(report.pearson, r, accuracy: 1e-6)
        XCTAssertEqual(report.pairs, 6)
        XCTAssertEqual(report.skipped, 1)
        XCTAssertEqual(report.outOfVocabularyRatio, 1.0 / 7.0, accuracy: 1e-12)
        XCTAssertTrue(report.summaryLine.hasPrefix("spearman 0.9412, pearson "), report.summaryLine)
        XCTAssertTrue(report.summaryLine.hasSuffix("(6 pairs, 1 out of vocabulary: 14.3%)"), report.summaryLine)
        // Case-sensitive, the F/G pair is out of vocabulary.
        XCTAssertEqual(try v.evaluateSimilarity(file: url, caseInsensitive: false).skipped, 2)

        assertThrows("line 2: expected 'word1<TAB>word2<TAB>score', found 'e\tf\tmuch'") {
            _ = try v.evaluateSimilarity(file: try self.write("bad.tsv", "# c\ne\tf\tmuch\n"))
        }
        assertThrows("line 1: expected") { _ = try v.evaluateSimilarity(file: try self.write("two.tsv", "e f\n")) }
        assertThrows("holds no word pairs") { _ = try v.evaluateSimilarity(file: try self.write("c.tsv", "# only\n\n")) }
        assertThrows("none of the 1 pairs") { _ = try v.evaluateSimilarity(file: try self.write("oov.tsv", "x\ty\t1\n")) }
    }

    /// The parsers on the real evaluation files, when the data folder has them.
    func testRealEvaluationFilesParse() throws {
        let dir = sharedData("eval")
        let questionsURL = dir.appendingPathComponent("questions-words.txt")
        guard FileManager.default.fileExists(atPath: questionsURL.path) else {
            throw XCTSkip("\(questionsURL.path) not found (the shared data folder beside the repository, or $LOOM_SHARED_DATA): "
                              + "the real evaluation files are not checked")
        }
        // A vocabulary of every word in the questions, in lower case, with random vectors.
        let text = String(decoding: try Data(contentsOf: questionsURL), as: UTF8.self)
        var seen = Set<String>()
        var words: [String] = []
        for line in text.split(separator: "\n") where !line.hasPrefix(":") {
            for w in line.split(separator: " ") where seen.insert(w.lowercased()).inserted { words.append(w.lowercased()) }
        }
        var data = TestData(seed: 11)
        let v = try WordVectors(words: words, dimension: 16, vectors: data.uniform(words.count * 16))
        let report = try v.evaluateAnalogies(file: questionsURL)
        XCTAssertEqual(report.sections.count, 14)
        XCTAssertEqual(report.totals.total, 19544)
        XCTAssertEqual(report.semantic.total, 8869)
        XCTAssertEqual(report.syntactic.total, 10675)
        XCTAssertEqual(report.coverage, 1)
        XCTAssertEqual(report.sections.first?.name, "capital-common-countries")
        print(report.summaryLine)

        for (name, pairs) in [("wordsim353.tsv", 353), ("simlex999.txt", 999)] {
            let url = dir.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("\(url.path) not found") }
            let lines = String(decoding: try Data(contentsOf: url), as: UTF8.self).split(separator: "\n")
            var vocab: [String] = []
            var known = Set<String>()
            for line in lines where !line.hasPrefix("#") {
                for w in line.split(separator: "\t").prefix(2) where known.insert(w.lowercased()).inserted {
                    vocab.append(w.lowercased())
                }
            }
            let pv = try WordVectors(words: vocab, dimension: 8, vectors: data.uniform(vocab.count * 8))
            let r = try pv.evaluateSimilarity(file: url)
            XCTAssertEqual(r.pairs, pairs, name)
            XCTAssertEqual(r.skipped, 0, name)
            XCTAssertLessThan(abs(r.spearman), 0.2, "\(name): random vectors should not correlate")
        }
    }

    // MARK: gensim

    /// gensim reads our files and agrees on neighbours, analogies and both evaluations, when it
    /// is installed (`python3 -m pip install gensim`).
    func testGensimAgrees() throws {
        let v = try sample(count: 30, dimension: 5)
        try v.write(to: file("v.bin"), format: .binary)
        try v.write(to: file("v.txt"), format: .text)
        // Tie-free random vectors for the similarity checks.
        var data = TestData(seed: 9)
        let random = try WordVectors(words: (0..<50).map { "w\($0)" }, dimension: 8, vectors: data.uniform(400))
        try random.write(to: file("random.txt"), format: .text)
        var pairLines = (0..<12).map { "w\($0)\tw\(($0 * 7 + 3) % 50)\t\(Double($0 % 5) / 2)" }
        pairLines.append("w1\tunknown\t3")
        let pairsURL = try write("pairs.tsv", pairLines.joined(separator: "\n") + "\n")
        let toy = try toyVectors()
        try toy.write(to: file("toy.txt"), format: .text)
        let questionsURL = try write("questions.txt", questions)
        let script = """
            import sys, json
            import numpy as np
            from gensim.models import KeyedVectors
            d = json.load(sys.stdin)["dir"]
            out = {}
            for name, binary in (("v.bin", True), ("v.txt", False)):
                kv = KeyedVectors.load_word2vec_format(d + "/" + name, binary=binary)
                out[name] = {"words": list(kv.index_to_key), "bits": kv.vectors.view(np.uint32).ravel().tolist()}
            r = KeyedVectors.load_word2vec_format(d + "/random.txt", binary=False)
            out["near"] = r.most_similar("w3", topn=5)
            out["add"] = r.most_similar(positive=["w1", "w2"], negative=["w0"], topn=5)
            out["mul"] = r.most_similar_cosmul(positive=["w1", "w2"], negative=["w0"], topn=5)
            out["restricted"] = r.most_similar(positive=["w1", "w2"], negative=["w0"], topn=5, restrict_vocab=20)
            pearson, spearman, oov = r.evaluate_word_pairs(d + "/pairs.tsv")
            out["pairs"] = [float(pearson[0]), float(spearman[0])]
            toy = KeyedVectors.load_word2vec_format(d + "/toy.txt", binary=False)
            score, sections = toy.evaluate_word_analogies(d + "/questions.txt")
            out["sections"] = [[s["section"], len(s["correct"]), len(s["correct"]) + len(s["incorrect"])] for s in sections]
            print(json.dumps(out))
            """
        let object = try runPython(script, input: ["dir": folder.path], needs: "gensim")
        guard !object.isEmpty else { return }
        for name in ["v.bin", "v.txt"] {
            let loaded = object[name] as? [String: Any]
            XCTAssertEqual(loaded?["words"] as? [String], v.words, name)
            XCTAssertEqual((loaded?["bits"] as? [NSNumber])?.map(\.uint32Value), v.vectors.map(\.bitPattern), name)
        }
        let ours: [String: [WordVectors.Neighbour]] = [
            "near": try random.mostSimilar(to: "w3", k: 5),
            "add": try random.analogy("w0", "w1", "w2", k: 5),
            "mul": try random.analogy("w0", "w1", "w2", k: 5, method: .mul),
            "restricted": try random.analogy("w0", "w1", "w2", k: 5, restrictVocab: 20),
        ]
        for (key, mine) in ours {
            let theirs = (object[key] as? [[Any]] ?? []).map {
                ($0[0] as? String ?? "", ($0[1] as? NSNumber)?.doubleValue ?? .nan)
            }
            XCTAssertEqual(mine.map(\.word), theirs.map(\.0), key)
            for (m, t) in zip(mine, theirs) { XCTAssertEqual(Double(m.similarity), t.1, accuracy: 1e-5, key) }
        }
        let similarity = try random.evaluateSimilarity(file: pairsURL)
        let gensimPairs = (object["pairs"] as? [NSNumber])?.map(\.doubleValue) ?? []
        XCTAssertEqual(gensimPairs.count, 2)
        if gensimPairs.count == 2 {
            XCTAssertEqual(similarity.pearson, gensimPairs[0], accuracy: 1e-5)
            XCTAssertEqual(similarity.spearman, gensimPairs[1], accuracy: 1e-9)
        }
        let report = try toy.evaluateAnalogies(file: questionsURL)
        let expected = report.sections.map { [$0.name, $0.correct, $0.evaluated] as [AnyHashable] }
            + [["Total accuracy", report.totals.correct, report.totals.evaluated]]
        let gensimSections = (object["sections"] as? [[Any]] ?? []).map { row in
            [row[0] as? String ?? "", (row[1] as? NSNumber)?.intValue ?? -1, (row[2] as? NSNumber)?.intValue ?? -1]
                as [AnyHashable]
        }
        XCTAssertEqual(gensimSections, expected)
    }

    // MARK: Timing

}
