import Foundation
import Loom

/// One benchmarked operation, described once: the same description drives validation against the
/// CPU reference and the timing (CLBlast's client/test split, llm.c's validate-then-time).
struct Routine {
    /// Row label, e.g. `gemm 1024x1024x1024`.
    var name: String
    /// Floating-point operations per call (for GFLOP/s), 0 when not meaningful.
    var flops: Double = 0
    /// Bytes that must move per call (for GB/s), 0 when not meaningful.
    var bytes: Double = 0
    /// Tolerance of the validation against the CPU backend.
    var atol: Float = 1e-4
    var rtol: Float = 1e-3
    /// Builds the operands on a backend (same seed everywhere) and returns the call and its outputs.
    var make: (any Backend) throws -> Instance
}

struct Instance {
    /// One call of the op (enqueued; the harness synchronizes).
    var run: () throws -> Void
    /// The op's outputs after one call from a fresh instance, for validation.
    var outputs: () throws -> [Float]
}

/// One row of results.
struct Measurement: Codable {
    var routine: String
    var backend: String
    var device: String
    /// Median wall time per call, milliseconds (host clock, queue drained).
    var milliseconds: Double
    /// Median device time per call from OpenCL profiling events, when available.
    var deviceMilliseconds: Double?
    var gflops: Double?
    var gbPerSecond: Double?
    /// "ok", "reference", or "FAILED (…)".
    var validation: String
}

struct Harness {
    var repeats = 7
    /// Minimum wall time of one timed batch, seconds; the harness picks calls per batch to reach it.
    var minBatchSeconds = 0.05
    var reference: any Backend

    func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Validates `routine` on `backend` against the reference, then times it.
    func measure(_ routine: Routine, on backend: any Backend) throws -> Measurement {
        let validation: String
        if backend === reference {
            validation = "reference"
        } else {
            let expected = try routine.make(reference)
            try expected.run()
            let actual = try routine.make(backend)
            try actual.run()
            try backend.synchronize()
            validation = compare(try actual.outputs(), try expected.outputs(), atol: routine.atol, rtol: routine.rtol)
        }

        let instance = try routine.make(backend)
        // Warm-up: compiles kernels, fills caches; never timed.
        for _ in 0..<3 { try instance.run() }
        try backend.synchronize()
        let opencl = backend as? OpenCLBackend
        _ = try opencl?.takeProfile()

        // Calls per batch so one batch lasts at least minBatchSeconds.
        var calls = 1
        while true {
            let t0 = now()
            for _ in 0..<calls { try instance.run() }
            try backend.synchronize()
            if now() - t0 >= minBatchSeconds || calls >= 1 << 16 { break }
            calls *= 4
        }
        _ = try opencl?.takeProfile()

        var wall: [Double] = []
        var device: [Double] = []
        for _ in 0..<repeats {
            let t0 = now()
            for _ in 0..<calls { try instance.run() }
            try backend.synchronize()
            wall.append((now() - t0) / Double(calls))
            if let opencl {
                let events = try opencl.takeProfile()
                if !events.isEmpty {
                    device.append(Double(events.reduce(0) { $0 + $1.nanoseconds }) / 1e9 / Double(calls))
                }
            }
        }
        let seconds = median(wall)
        return Measurement(
            routine: routine.name, backend: backend.name, device: backend.deviceDescription,
            milliseconds: seconds * 1e3,
            deviceMilliseconds: device.isEmpty ? nil : median(device) * 1e3,
            gflops: routine.flops > 0 ? routine.flops / seconds / 1e9 : nil,
            gbPerSecond: routine.bytes > 0 ? routine.bytes / seconds / 1e9 : nil,
            validation: validation)
    }

    func compare(_ d: [Float], _ r: [Float], atol: Float, rtol: Float) -> String {
        guard d.count == r.count else { return "FAILED (\(d.count) values, expected \(r.count))" }
        var bad = 0
        var maxDiff: Float = 0
        for (x, y) in zip(d, r) {
            let diff = abs(x - y)
            if !(diff <= atol + rtol * abs(y)) { bad += 1 }
            if diff > maxDiff || diff.isNaN { maxDiff = diff }
        }
        return bad == 0 ? "ok" : "FAILED (\(bad) of \(d.count), max |d−r| \(maxDiff))"
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
}

/// Seeded uniform values in [lo, hi).
func uniform(_ n: Int, seed: UInt64, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    return (0..<n).map { _ in lo + (hi - lo) * rng.nextFloat() }
}

func ids(_ n: Int, below bound: Int, seed: UInt64) -> [Int32] {
    var rng = SeededGenerator(seed: seed)
    return (0..<n).map { _ in Int32(rng.next() % UInt64(bound)) }
}

/// Prints measurements as an aligned table.
func printTable(_ rows: [Measurement]) {
    let header = ["routine", "backend", "ms/call", "device ms", "GFLOP/s", "GB/s", "check"]
    let cells = rows.map { m in
        [m.routine, m.backend, String(format: "%.4f", m.milliseconds),
         m.deviceMilliseconds.map { String(format: "%.4f", $0) } ?? "–",
         m.gflops.map { String(format: "%.1f", $0) } ?? "–",
         m.gbPerSecond.map { String(format: "%.2f", $0) } ?? "–",
         m.validation]
    }
    let widths = header.indices.map { i in ([header[i]] + cells.map { $0[i] }).map(\.count).max()! }
    func line(_ c: [String]) -> String {
        c.enumerated().map { i, s in i < 2 || i == 6 ? s.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            : String(repeating: " ", count: widths[i] - s.count) + s }.joined(separator: "  ")
    }
    print(line(header))
    print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
    for c in cells { print(line(c)) }
}
