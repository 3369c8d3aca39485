import Foundation
import Loom
import XCTest

// Helpers shared by Loom's test targets (not API).

/// Whether `|d − r| ≤ atol + rtol·|r|` holds for every element; on failure the message lists the
/// first differing elements and the largest difference. Non-finite references must match exactly.
func assertClose(_ actual: [Float], _ expected: [Float], atol: Float = 1e-5, rtol: Float = 1e-4,
                        _ name: String, file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("\(name): \(actual.count) values, expected \(expected.count)", file: file, line: line)
        return
    }
    var bad: [String] = []
    var maxDiff: Float = 0
    var worst = -1
    for i in 0..<actual.count {
        let r = expected[i], d = actual[i]
        if !r.isFinite {
            if !(d == r || (d.isNaN && r.isNaN)) { bad.append("[\(i)] \(d) vs \(r)") }
            continue
        }
        let diff = abs(d - r)
        if !(diff <= atol + rtol * abs(r)) {
            if bad.count < 8 { bad.append("[\(i)] \(d) vs \(r)") }
            if !(diff <= maxDiff) || diff.isNaN { maxDiff = diff; worst = i }
        }
    }
    if !bad.isEmpty {
        XCTFail("\(name): mismatch (atol \(atol), rtol \(rtol)); first: \(bad.joined(separator: ", ")); "
                    + "max |d−r| = \(maxDiff) at [\(worst)]", file: file, line: line)
    }
}

/// Double-precision variant, for finite-difference checks.
func assertClose(_ actual: [Double], _ expected: [Double], atol: Double, rtol: Double,
                        _ name: String, file: StaticString = #filePath, line: UInt = #line) {
    assertClose(actual.map(Float.init), expected.map(Float.init), atol: Float(atol), rtol: Float(rtol), name,
                file: file, line: line)
}

/// Seeded random test data.
struct TestData {
    var rng: SeededGenerator

    init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    /// Uniform in [lo, hi).
    mutating func uniform(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
        (0..<n).map { _ in lo + (hi - lo) * rng.nextFloat() }
    }

    /// Ids uniform in 0..<bound.
    mutating func ids(_ n: Int, below bound: Int) -> [Int32] {
        (0..<n).map { _ in Int32(rng.next() % UInt64(bound)) }
    }

    /// `n` distinct ids below `bound`.
    mutating func distinctIds(_ n: Int, below bound: Int) -> [Int32] {
        precondition(n <= bound)
        var all = Array(0..<Int32(bound))
        for i in 0..<n { all.swapAt(i, i + Int(rng.next() % UInt64(bound - i))) }
        return Array(all[0..<n])
    }
}

/// The backends tests run on.
enum TestBackends {
    /// The reference backend.
    static let cpu = CPUBackend(threads: 2)

    private static let openCLResult: Result<OpenCLBackend, Error> = Result {
        let devices = try OpenCLBackend.devices()
        let pick = devices.first(where: \.isGPU) ?? devices[0]
        return try OpenCLBackend(platform: pick.platformIndex, device: pick.deviceIndex)
    }

    /// Whether CI demands the OpenCL tests run (`LOOM_REQUIRE_OPENCL=1`): then a missing platform
    /// fails the test instead of skipping it.
    static var openCLRequired: Bool { ProcessInfo.processInfo.environment["LOOM_REQUIRE_OPENCL"] == "1" }

    /// The shared OpenCL backend (first GPU, else first device). Without a platform the test is
    /// skipped, visibly, unless `LOOM_REQUIRE_OPENCL=1`.
    static func openCL(file: StaticString = #filePath, line: UInt = #line) throws -> OpenCLBackend {
        switch openCLResult {
        case let .success(backend): return backend
        case let .failure(error):
            if openCLRequired {
                XCTFail("LOOM_REQUIRE_OPENCL=1 but OpenCL is unavailable: \(error)", file: file, line: line)
                throw error
            }
            throw XCTSkip("OpenCL test skipped: \(error)")
        }
    }
}

/// Runs `body` on the CPU backend and on OpenCL with the same seeded inputs, and checks every
/// named output of OpenCL against the CPU reference.
func checkParity(_ name: String, atol: Float = 1e-5, rtol: Float = 1e-4,
                        file: StaticString = #filePath, line: UInt = #line,
                        _ body: (any Backend) throws -> [(String, [Float])]) throws {
    let device = try TestBackends.openCL(file: file, line: line)
    let reference = try body(TestBackends.cpu)
    let result = try body(device)
    try device.synchronize()
    XCTAssertEqual(reference.map(\.0), result.map(\.0), file: file, line: line)
    for ((key, r), (_, d)) in zip(reference, result) {
        assertClose(d, r, atol: atol, rtol: rtol, "\(name) \(key)", file: file, line: line)
    }
}

/// Asserts that `body` throws an error whose description contains `fragment`.
func assertThrows(_ fragment: String, file: StaticString = #filePath, line: UInt = #line,
                         _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected an error containing '\(fragment)'", file: file, line: line)
    } catch {
        XCTAssertTrue("\(error)".contains(fragment), "error '\(error)' lacks '\(fragment)'", file: file, line: line)
    }
}

/// A `LoomError` case without its payload: what operand tests assert (the case, not the message).
enum LoomErrorCase: String, CustomStringConvertible {
    case shapeMismatch, dtypeMismatch, wrongBackend, indexOutOfRange, invalidArgument, unsupported, invalidData, io

    var description: String { "LoomError.\(rawValue)" }

    /// Whether `error` is a `LoomError` of this case.
    func matches(_ error: Error) -> Bool {
        switch self {
        case .shapeMismatch: if case LoomError.shapeMismatch = error { return true }
        case .dtypeMismatch: if case LoomError.dtypeMismatch = error { return true }
        case .wrongBackend: if case LoomError.wrongBackend = error { return true }
        case .indexOutOfRange: if case LoomError.indexOutOfRange = error { return true }
        case .invalidArgument: if case LoomError.invalidArgument = error { return true }
        case .unsupported: if case LoomError.unsupported = error { return true }
        case .invalidData: if case LoomError.invalidData = error { return true }
        case .io: if case LoomError.io = error { return true }
        }
        return false
    }
}

/// Asserts that `body` throws a `LoomError` of case `expected`, and returns it (nil after a failure).
@discardableResult
func assertLoomError(_ expected: LoomErrorCase, _ what: String = "", file: StaticString = #filePath, line: UInt = #line,
                     _ body: () throws -> Void) -> LoomError? {
    do {
        try body()
        XCTFail("\(what): expected \(expected), nothing was thrown", file: file, line: line)
        return nil
    } catch {
        guard expected.matches(error), let loom = error as? LoomError else {
            XCTFail("\(what): expected \(expected), got \(String(reflecting: error))", file: file, line: line)
            return nil
        }
        return loom
    }
}

/// A file of the shared data folder: `$LOOM_SHARED_DATA/relative` when that variable is set, else
/// `../shared/data/relative` beside the repository (found from this file's path, so the tests do
/// not depend on the working directory). Callers skip, visibly, when the file is absent.
func sharedData(_ relative: String) -> URL {
    if let root = ProcessInfo.processInfo.environment["LOOM_SHARED_DATA"], !root.isEmpty {
        return URL(fileURLWithPath: root, isDirectory: true).appendingPathComponent(relative).standardizedFileURL
    }
    // Tests/LoomTests/Support.swift → the repository → its parent.
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return repository.deletingLastPathComponent().appendingPathComponent("shared/data/\(relative)").standardizedFileURL
}

/// Central differences of `loss` at `x`, step `h`.
func numericGradient(_ x: [Double], h: Double = 1e-6, _ loss: ([Double]) -> Double) -> [Double] {
    var g = [Double](repeating: 0, count: x.count)
    var xp = x
    for i in 0..<x.count {
        xp[i] = x[i] + h
        let up = loss(xp)
        xp[i] = x[i] - h
        let down = loss(xp)
        xp[i] = x[i]
        g[i] = (up - down) / (2 * h)
    }
    return g
}

/// Runs `script` with the Python that has the test-side packages (`LOOM_PYTHON`, which
/// scripts/test.sh sets to the venv scripts/setup.sh makes; else `python3`), writes `input` to
/// its stdin as JSON, and returns the JSON object it prints. When the packages are missing the
/// test is skipped with a visible message, except in CI, where it fails: CI installs them.
/// - Parameter needs: the packages the script imports, for the messages ("safetensors, numpy").
func runPython(_ script: String, input: Any = [String: Any](), needs: String,
               file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
    let python = ProcessInfo.processInfo.environment["LOOM_PYTHON"] ?? "/usr/bin/env"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = (python == "/usr/bin/env" ? ["python3"] : []) + ["-c", script]
    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    stdin.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: input))
    try stdin.fileHandleForWriting.close()
    let data = stdout.fileHandleForReading.readDataToEndOfFile()
    let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0, let out = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        let missing = message.contains("ModuleNotFoundError") || message.contains("No such file")
        if !missing || ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail("the Python check (\(needs)) failed: \(message.suffix(2000))", file: file, line: line)
            return [:]
        }
        throw XCTSkip("check against \(needs) skipped: python3 with \(needs) is not available (\(message.suffix(200)))")
    }
    return out
}

/// The `loom` executable built beside the test bundle; skipped, visibly, when it was not built.
func builtLoomExecutable() throws -> URL {
    let places = [Bundle(for: TestBundleMarker.self).bundleURL.deletingLastPathComponent(),
                  Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
                  URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
    for place in places {
        let url = place.appendingPathComponent("loom")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    throw XCTSkip("the loom executable is not built beside the tests (looked in \(places.map(\.path))); "
                      + "build it with `swift build` to run the command-line checks")
}

private final class TestBundleMarker {}

/// What a finished process printed, and how it ended.
struct ProcessOutcome {
    var status: Int32
    var output: String
    var errors: String
    /// Ended by a signal rather than an exit.
    var signalled = false
}

/// Runs `executable arguments` to the end; both streams go to files in `scratch`, so neither can
/// fill a pipe while the other is read.
func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
                scratch: URL) throws -> ProcessOutcome {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    let name = UUID().uuidString
    let outURL = scratch.appendingPathComponent("\(name).out"), errURL = scratch.appendingPathComponent("\(name).err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let output = try FileHandle(forWritingTo: outURL), errors = try FileHandle(forWritingTo: errURL)
    defer { try? output.close(); try? errors.close() }
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    process.waitUntilExit()
    return ProcessOutcome(status: process.terminationStatus,
                          output: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                          errors: String(decoding: try Data(contentsOf: errURL), as: UTF8.self),
                          signalled: process.terminationReason == .uncaughtSignal)
}
