import Foundation
@testable import LoomOpenCL
import LoomKernels
import Loom
import XCTest

/// Properties of single ops on every backend, and what the OpenCL runtime does when things go wrong.
final class BehaviourTests: XCTestCase {
    /// The CPU backend, and OpenCL when there is a platform (or it is required).
    func backends() throws -> [any Backend] {
        do { return [TestBackends.cpu, try TestBackends.openCL()] } catch is XCTSkip { return [TestBackends.cpu] }
    }

    func testDropoutKeepRateOnAMillionDraws() throws {
        for be in try backends() {
            for keep: Float in [0.5, 0.9] {
                let n = 1_000_000
                let ones = try be.allocate([n], dtype: .float32)
                try be.fill(ones, value: 1)
                let out = try be.allocate([n], dtype: .float32)
                try be.dropout(ones, into: out, keepProbability: keep, seed: 1234, stream: 0)
                let kept = try be.floats(out).filter { $0 != 0 }.count
                let rate = Double(kept) / Double(n)
                XCTAssertEqual(rate, Double(keep), accuracy: 0.01 * Double(keep), "\(be.name) keep \(keep)")
                // Another stream gives another mask.
                let other = try be.allocate([n], dtype: .float32)
                try be.dropout(ones, into: other, keepProbability: keep, seed: 1234, stream: 1)
                XCTAssertNotEqual(try be.floats(other), try be.floats(out))
            }
        }
    }

    func testClipByGlobalNormKeepsDirection() throws {
        for be in try backends() {
            var data = TestData(seed: 21)
            let a = data.uniform(300, -5, 5), b = data.uniform(77, -5, 5)
            let ta = try be.tensor(a), tb = try be.tensor(b)
            let ss = try be.zeros([1])
            try be.sumOfSquares(ta, into: ss, accumulate: false)
            try be.sumOfSquares(tb, into: ss, accumulate: true)
            let before = (a + b).reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            XCTAssertEqual(Double(try be.scalar(ss)).squareRoot(), before, accuracy: before * 1e-5)
            try be.clipByGlobalNorm(ta, sumOfSquares: ss, maxNorm: 1.25)
            try be.clipByGlobalNorm(tb, sumOfSquares: ss, maxNorm: 1.25)
            let after = try be.floats(ta) + be.floats(tb)
            let norm = after.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            XCTAssertLessThanOrEqual(norm, 1.25 * (1 + 1e-5), be.name)
            for (x, y) in zip(after, a + b) { XCTAssertEqual(Double(x), Double(y) * 1.25 / before, accuracy: 1e-5) }
            // Under the limit nothing changes.
            let small = try be.tensor([Float(0.1), -0.2])
            let ss2 = try be.zeros([1])
            try be.sumOfSquares(small, into: ss2, accumulate: false)
            try be.clipByGlobalNorm(small, sumOfSquares: ss2, maxNorm: 1)
            XCTAssertEqual(try be.floats(small), [0.1, -0.2])
        }
    }

    func testOptimizerFormulas() throws {
        // One step of each rule against its formula, by hand, on every backend.
        for be in try backends() {
            let p0: [Float] = [1, -2], g: [Float] = [0.5, -1]
            func step(_ rule: UpdateRule, state: [[Float]]) throws -> ([Float], [[Float]]) {
                let p = try be.tensor(p0)
                let s = try state.map { try be.tensor($0) }
                try be.applyUpdate(rule, parameter: p, gradient: try be.tensor(g), state: s, rows: nil)
                return (try be.floats(p), try s.map { try be.floats($0) })
            }
            var (p, s) = try step(.sgd(learningRate: 0.1), state: [])
            assertClose(p, [0.95, -1.9], "\(be.name) sgd")
            (p, s) = try step(.momentum(learningRate: 0.1, momentum: 0.9), state: [[1, 1]])
            assertClose(s[0], [1.4, -0.1], "\(be.name) momentum v")
            assertClose(p, [1 - 0.14, -2 + 0.01], "\(be.name) momentum p")
            (p, s) = try step(.adagrad(learningRate: 1, epsilon: 0), state: [[0.1, 0.1]])
            assertClose(s[0], [0.35, 1.1], "\(be.name) adagrad a")
            assertClose(p, [1 - 0.5 / Float(0.35).squareRoot(), -2 + 1 / Float(1.1).squareRoot()], "\(be.name) adagrad p")
            (p, s) = try step(.adam(learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 0, step: 1), state: [[0, 0], [0, 0]])
            // First Adam step moves every weight by lr·sign(g).
            assertClose(p, [0.9, -1.9], atol: 1e-5, "\(be.name) adam p")
        }
    }

    func testSparseUpdateTouchesOnlyItsRows() throws {
        for be in try backends() {
            let p = try be.tensor([Float](repeating: 1, count: 12), shape: [4, 3])
            let acc = try be.tensor([Float](repeating: 0.1, count: 12), shape: [4, 3])
            try be.applyUpdate(.adagrad(learningRate: 1, epsilon: 0), parameter: p,
                               gradient: try be.tensor([Float](repeating: 1, count: 6), shape: [2, 3]),
                               state: [acc], rows: try be.tensor([Int32(3), 1]))
            let values = try be.floats(p)
            XCTAssertEqual(Array(values[0..<3]), [1, 1, 1])
            XCTAssertEqual(Array(values[6..<9]), [1, 1, 1])
            XCTAssertNotEqual(values[3], 1)
            XCTAssertNotEqual(values[9], 1)
        }
    }

    func testBadOperandsAreNamedErrors() throws {
        for be in try backends() {
            let a = try be.zeros([2, 3]), b = try be.zeros([4, 5]), c = try be.zeros([2, 5])
            assertLoomError(.shapeMismatch, be.name) { try be.matmul(a, b, into: c) }
            assertLoomError(.dtypeMismatch, be.name) { try be.gather(a, indices: a.flattened(), into: c) }
            assertLoomError(.invalidArgument, be.name) {
                try be.dropout(a, into: a, keepProbability: 0, seed: 1, stream: 0)
            }
            let other = CPUBackend(threads: 1)
            assertLoomError(.wrongBackend, be.name) { try be.add(a, try other.zeros([2, 3]), into: a) }
        }
    }

    func testOutOfRangeIdsAreReported() throws {
        for be in try backends() {
            let table = try be.zeros([4, 2])
            let out = try be.zeros([2, 2])
            let error = assertLoomError(.indexOutOfRange, be.name) {
                try be.gather(table, indices: try be.tensor([Int32(1), 9]), into: out)
                try be.synchronize()
            }
            XCTAssertEqual(error, .indexOutOfRange(op: "gather", index: 9, bound: 4), be.name)
            // The backend stays usable afterwards.
            try be.gather(table, indices: try be.tensor([Int32(1), 3]), into: out)
            try be.synchronize()
        }
    }

    func testAutoSelectionSaysWhatItChose() throws {
        let selected = try DeviceSelection.open(.auto)
        let hasGPU = ((try? OpenCLBackend.devices()) ?? []).contains(where: \.isGPU)
        if hasGPU {
            XCTAssertTrue(selected.backend is OpenCLBackend)
        } else {
            XCTAssertTrue(selected.backend is CPUBackend)
            XCTAssertTrue(selected.explanation.hasPrefix("auto: "), selected.explanation)
        }
        if case .failure = Result(catching: { try OpenCLBackend.devices() }) {
            XCTAssertTrue(selected.explanation.contains("-1001"), selected.explanation)
            print("no OpenCL platform: \(selected.explanation)")
        }
    }

    func testExplicitOpenCLRequestNeverFallsBack() throws {
        XCTAssertThrowsError(try DeviceSelection.open(.openclDevice(platform: 99, device: 0)))
        XCTAssertThrowsError(try DeviceRequest(parsing: "opencl:x:1"))
        XCTAssertEqual(try DeviceRequest(parsing: "OpenCL:1:2"), .openclDevice(platform: 1, device: 2))
    }

    // MARK: OpenCL runtime

    func testBuildFailureCarriesTheLog() throws {
        let be = try TestBackends.openCL()
        XCTAssertThrowsError(try CLProgram(source: "__kernel void broken(__global float* x) { x[0] = y; }",
                                           name: "broken.cl", context: be.context, device: be.device,
                                           options: be.buildOptions)) { error in
            guard case let OpenCLError.buildFailed(program, _, log) = error else {
                return XCTFail("expected buildFailed, got \(error)")
            }
            XCTAssertEqual(program, "broken.cl")
            XCTAssertTrue(log.contains("y"), log)
            XCTAssertTrue("\(error)".contains("did not compile"))
        }
    }

    func testProgramCacheRebuildsCorruptEntries() throws {
        let device = try TestBackends.openCL().info
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }

        // First backend compiles and stores; the files are then corrupted in two ways.
        do {
            let be = try OpenCLBackend(platform: device.platformIndex, device: device.deviceIndex, cacheDirectory: dir)
            let x = try be.tensor([Float(1), 2, 3])
            try be.scale(x, by: 2)
            XCTAssertEqual(try be.floats(x), [2, 4, 6])
        }
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
        XCTAssertFalse(files.isEmpty, "nothing was cached")
        for (n, file) in files.enumerated() {
            var bytes = [UInt8](try Data(contentsOf: file))
            if n % 2 == 0 { bytes[bytes.count - 1] ^= 0xFF } else { bytes = Array(bytes.prefix(bytes.count / 2)) }
            try Data(bytes).write(to: file)
        }
        // A second backend must notice, rebuild, and still compute right.
        let be = try OpenCLBackend(platform: device.platformIndex, device: device.deviceIndex, cacheDirectory: dir)
        let x = try be.tensor([Float(1), 2, 3])
        try be.scale(x, by: 3)
        XCTAssertEqual(try be.floats(x), [3, 6, 9])
        // And the rebuilt entries are valid again.
        let cache = ProgramCache(directory: dir)
        let (source, _) = try KernelSources.program(.elementwise)
        XCTAssertNotNil(cache.load(key: ProgramCache.key(device: device, options: be.buildOptions, source: source)))
    }

    func testProgramCacheKeyDependsOnDriverAndSource() throws {
        let device = try TestBackends.openCL().info
        var updated = device
        updated.driverVersion += "-new"
        let k1 = ProgramCache.key(device: device, options: "-cl-std=CL1.2", source: "a")
        XCTAssertNotEqual(k1, ProgramCache.key(device: updated, options: "-cl-std=CL1.2", source: "a"))
        XCTAssertNotEqual(k1, ProgramCache.key(device: device, options: "-cl-std=CL1.2", source: "b"))
        XCTAssertNotEqual(k1, ProgramCache.key(device: device, options: "", source: "a"))
        XCTAssertNil(ProgramCache.decode(Array("garbage".utf8), key: k1))
        XCTAssertEqual(ProgramCache.decode(ProgramCache.encode([1, 2, 3], key: k1), key: k1), [1, 2, 3])
        XCTAssertNil(ProgramCache.decode(ProgramCache.encode([1, 2, 3], key: k1), key: k1 + "x"))
    }

    func testAllocationBeyondTheDeviceIsOutOfMemory() throws {
        let be = try TestBackends.openCL()
        let elements = Int(be.info.maxAllocationBytes / 4) + 1024
        XCTAssertThrowsError(try be.allocate([elements], dtype: .float32)) { error in
            guard case OpenCLError.outOfMemory = error else { return XCTFail("expected outOfMemory, got \(error)") }
            XCTAssertTrue("\(error)".contains("out of memory"))
        }
    }

    func testProfilingEventsTimeLaunches() throws {
        let info = try TestBackends.openCL().info
        let be = try OpenCLBackend(platform: info.platformIndex, device: info.deviceIndex, profiling: true)
        let x = try be.tensor([Float](repeating: 1, count: 1000))
        try be.scale(x, by: 2)
        try be.sigmoid(x, into: x)
        let profile = try be.takeProfile()
        XCTAssertEqual(profile.map(\.name), ["scale_f32", "sigmoid_f32"])
        XCTAssertTrue(try be.takeProfile().isEmpty)
    }
}
