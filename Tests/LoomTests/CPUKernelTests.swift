import Foundation
import Loom
import XCTest

/// The choice of the C kernels' build: the best the CPU runs, or the baseline when
/// `LOOM_CPU_KERNELS=baseline` (the test command runs the kernel tests once that way).
final class CPUKernelTests: XCTestCase {
    func testTheOverrideIsHonouredAndCheckedByName() throws {
        let forced = ProcessInfo.processInfo.environment["LOOM_CPU_KERNELS"] == "baseline"
        if forced { XCTAssertEqual(CPUBackend.kernelInstructionSet, "baseline") }
        XCTAssertTrue(["baseline", "avx2+fma"].contains(CPUBackend.kernelInstructionSet))
        XCTAssertTrue(CPUBackend().deviceDescription.contains("C kernels (\(CPUBackend.kernelInstructionSet))"))
        for good in [[:], ["LOOM_CPU_KERNELS": "baseline"], ["LOOM_CPU_KERNELS": "auto"]] {
            XCTAssertNoThrow(try CPUBackend.checkKernelOverride(good))
        }
        XCTAssertThrowsError(try CPUBackend.checkKernelOverride(["LOOM_CPU_KERNELS": "avx512"])) { error in
            guard case LoomError.invalidArgument = error else { return XCTFail("\(error)") }
        }
    }
}
