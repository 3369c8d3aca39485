import LoomCore
import XCTest

final class PhiloxTests: XCTestCase {
    func testKnownAnswers() {
        // Random123's kat_vectors for philox4x32_10.
        XCTAssertEqual(Philox.philox4x32_10(SIMD4(0, 0, 0, 0), key: SIMD2(0, 0)),
                       SIMD4(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8))
        XCTAssertEqual(Philox.philox4x32_10(SIMD4(repeating: 0xffff_ffff), key: SIMD2(repeating: 0xffff_ffff)),
                       SIMD4(0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd))
        XCTAssertEqual(Philox.philox4x32_10(SIMD4(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344),
                                            key: SIMD2(0xa409_3822, 0x299f_31d0)),
                       SIMD4(0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1))
    }

    func testWordsAreBlockWords() {
        let block = Philox.philox4x32_10(SIMD4(1, 0, 7, 0), key: SIMD2(5, 0))
        for w in 0..<4 { XCTAssertEqual(Philox.word(index: UInt64(4 + w), seed: 5, stream: 7), block[w]) }
    }

    func testKeepThreshold() {
        XCTAssertEqual(Philox.keepThreshold(1), 1 << 24)
        XCTAssertEqual(Philox.keepThreshold(0.5), 1 << 23)
    }

    func testSeededGeneratorIsReproducible() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let xs = (0..<5).map { _ in a.next() }
        XCTAssertEqual(xs, (0..<5).map { _ in b.next() })
        XCTAssertNotEqual(xs, (0..<5).map { _ in c.next() })
        var r = SeededGenerator(state: a.state)
        XCTAssertEqual(r.next(), a.next())
        let mean = (0..<100_000).reduce(0.0) { acc, _ in acc + r.nextGaussian() } / 100_000
        XCTAssertEqual(mean, 0, accuracy: 0.02)
    }
}

final class ShapeTests: XCTestCase {
    final class FakeStorage: DeviceStorage {
        let byteCount: Int
        var owner: ObjectIdentifier { ObjectIdentifier(self) }
        init(_ bytes: Int) { byteCount = bytes }
    }

    func testViews() {
        let t = Tensor(storage: FakeStorage(4 * 24), shape: [4, 3, 2], dtype: .float32)
        XCTAssertEqual(t.shape.rows, 12)
        XCTAssertEqual(t.shape.columns, 2)
        let r = t.rows(1..<3)
        XCTAssertEqual(r.shape, [2, 3, 2])
        XCTAssertEqual(r.offset, 6)
        XCTAssertEqual(t.row(3).shape, [3, 2])
        XCTAssertEqual(t.row(3).offset, 18)
        XCTAssertEqual(t.reshaped([24]).shape.description, "(24)")
        XCTAssertEqual(t.elements(5, count: 4).offset, 5)
        XCTAssertEqual(Shape([0, 5]).count, 0)
        XCTAssertEqual(Shape([]).count, 1)
    }

    func testGemmSizes() throws {
        let a = Tensor(storage: FakeStorage(4 * 6), shape: [2, 3], dtype: .float32)
        let b = Tensor(storage: FakeStorage(4 * 12), shape: [3, 4], dtype: .float32)
        let c = Tensor(storage: FakeStorage(4 * 8), shape: [2, 4], dtype: .float32)
        XCTAssertEqual(try GemmSizes.resolve("gemm", a, b, c, transposeA: false, transposeB: false, batched: false),
                       GemmSizes(m: 2, n: 4, k: 3))
        assertLoomError(.shapeMismatch) {
            _ = try GemmSizes.resolve("gemm", a, b, c, transposeA: true, transposeB: false, batched: false)
        }
        assertLoomError(.shapeMismatch) {
            _ = try GemmSizes.resolve("gemm", a, b, c, transposeA: false, transposeB: false, batched: true)
        }
    }

    func testAdamStepSize() {
        let rule = UpdateRule.adam(learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 1)
        XCTAssertEqual(rule.adamStepSize, Float(0.1 * (0.001).squareRoot() / 0.1), accuracy: 1e-6)
        XCTAssertEqual(rule.stateCount, 2)
    }
}

final class AtomicFileTests: XCTestCase {
    /// A writer removes the temporaries of earlier writers of the same target whose process is
    /// gone, and keeps those of live processes and of other targets.
    func testStaleTemporariesOfDeadWritersAreRemoved() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A process that has exited: its pid is free.
        let done = Process()
        done.executableURL = URL(fileURLWithPath: "/bin/true")
        try done.run()
        done.waitUntilExit()
        let dead = done.processIdentifier
        let names = [".run.ckpt.tmp-\(dead)-123", ".run.ckpt.tmp-1-456", ".other.ckpt.tmp-\(dead)-789"]
        for n in names { try Data("partial".utf8).write(to: dir.appendingPathComponent(n)) }
        try AtomicFileWriter.write(Data("good".utf8), to: dir.appendingPathComponent("run.ckpt"))
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        XCTAssertEqual(left, ["run.ckpt", ".run.ckpt.tmp-1-456", ".other.ckpt.tmp-\(dead)-789"])
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("run.ckpt"), encoding: .utf8), "good")
    }
}
