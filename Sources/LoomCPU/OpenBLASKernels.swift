import COpenBLAS
import Foundation
import _LoomCPUKernels

/// Which kernels OpenBLAS runs, and a way out when it picked badly.
///
/// OpenBLAS chooses its kernels once, when the library loads, from the CPU's family and model.
/// Releases older than the CPU do not know the model and fall back to their oldest x86-64 kernels
/// ("Prescott", SSE3): Debian 12's OpenBLAS 0.3.21 does that on Emerald Rapids Xeons, where SGEMM
/// then runs several times slower (the GEMM rows of Benchmarks/RESULTS.md, measured by
/// `loom-bench ops`, give the rates). The choice can only be overridden
/// through `OPENBLAS_CORETYPE` before the library loads, so a program that wants the fast kernels
/// sets it and starts itself again: ``restartWithRecommendedCoreIfNeeded()``.
public enum OpenBLASKernels {
    /// The kernel family OpenBLAS chose, e.g. "SkylakeX", "Haswell", "Zen" or "Prescott".
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name).trimmingCharacters(in: .whitespaces)
    }

    /// Kernel families that use AVX2 or better; any other choice on an AVX2 CPU is a fallback.
    static let vectorCores: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", "excavator"]

    /// The `OPENBLAS_CORETYPE` that would use this CPU's vector units when OpenBLAS fell back to
    /// older kernels ("SkylakeX" with AVX-512, "Haswell" with AVX2 and FMA), or nil when its own
    /// choice is fine.
    public static var recommendedCoreType: String? {
        recommendation(core: coreName, vectorLevel: Int(loom_cpu_vector_level()))
    }

    static func recommendation(core: String, vectorLevel: Int) -> String? {
        guard vectorLevel > 0, !vectorCores.contains(core.lowercased()) else { return nil }
        return vectorLevel >= 2 ? "SkylakeX" : "Haswell"
    }

    /// Marks a process started again by ``restartWithRecommendedCoreIfNeeded()``, so it never loops.
    static let restartedVariable = "LOOM_OPENBLAS_RESTARTED"

    /// When OpenBLAS fell back to kernels slower than this CPU allows and `OPENBLAS_CORETYPE` is
    /// not set, sets it to ``recommendedCoreType`` and replaces the process with a fresh copy of
    /// itself (same arguments and environment otherwise). Returns without doing anything if the
    /// choice is fine, if the user set `OPENBLAS_CORETYPE` (any value, which is also how to opt
    /// out), if this process is already such a restart, or if the restart fails.
    /// Call it first thing in `main`, before any thread starts. Linux only (`/proc/self/exe`).
    public static func restartWithRecommendedCoreIfNeeded() {
        #if os(Linux)
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, env[restartedVariable] == nil,
              let core = recommendedCoreType else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv(restartedVariable, "1", 1)
        // The executable's real path, so that the new process keeps its name (`ps`, `top`).
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? "/proc/self/exe"
        var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
        argv.append(nil)
        execv(executable, &argv)
        // Still here: the exec failed. Carry on with the kernels we have.
        for p in argv { free(p) }
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(restartedVariable)
        #endif
    }
}
