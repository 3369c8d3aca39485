@testable import LoomCPU
import XCTest

final class WorkerTeamTests: XCTestCase {
    /// Many small jobs back to back on more threads than cores: every part runs exactly once, and
    /// no worker keeps a job past `run` (which would trap).
    func testManySmallJobsRunEveryPartOnce() {
        let team = WorkerTeam(size: 8)
        var counts = [Int](repeating: 0, count: 64)
        counts.withUnsafeMutableBufferPointer { c in
            let base = c.baseAddress!
            for _ in 0..<20_000 {
                team.run(8) { p in base[p] += 1 }
            }
        }
        XCTAssertEqual(Array(counts[0..<8]), [Int](repeating: 20_000, count: 8))
        XCTAssertEqual(counts[8...].reduce(0, +), 0)
    }

    func testTeamsComeAndGo() {
        for _ in 0..<50 {
            let team = WorkerTeam(size: 4)
            var total = [Int](repeating: 0, count: 4)
            total.withUnsafeMutableBufferPointer { t in
                let base = t.baseAddress!
                team.run(4) { base[$0] += $0 }
            }
            XCTAssertEqual(total, [0, 1, 2, 3])
        }
    }
}

/// OpenBLAS's kernel choice: a fallback on a vector CPU is recognised, a good choice left alone.
final class OpenBLASKernelsTests: XCTestCase {
    func testFallbackKernelsAreReplaced() {
        XCTAssertEqual(OpenBLASKernels.recommendation(core: "Prescott", vectorLevel: 2), "SkylakeX")
        XCTAssertEqual(OpenBLASKernels.recommendation(core: "Nehalem", vectorLevel: 1), "Haswell")
        XCTAssertEqual(OpenBLASKernels.recommendation(core: "Sandybridge", vectorLevel: 1), "Haswell")
    }

    func testGoodChoicesAreKept() {
        for core in ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"] {
            XCTAssertNil(OpenBLASKernels.recommendation(core: core, vectorLevel: 2), core)
        }
        XCTAssertNil(OpenBLASKernels.recommendation(core: "Prescott", vectorLevel: 0), "nothing better to offer")
    }

    func testCoreNameIsReported() {
        XCTAssertFalse(OpenBLASKernels.coreName.isEmpty)
        XCTAssertTrue(CPUBackend(threads: 1).deviceDescription.contains(OpenBLASKernels.coreName))
    }
}
