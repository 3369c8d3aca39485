import COpenBLAS
import Dispatch
import Foundation
import LoomCore
import _LoomCPUKernels

/// Host memory owned by the CPU backend, 64-byte aligned.
final class CPUStorage: DeviceStorage, @unchecked Sendable {
    let byteCount: Int
    let owner: ObjectIdentifier
    let base: UnsafeMutableRawPointer

    init(byteCount: Int, owner: ObjectIdentifier) {
        self.byteCount = byteCount
        self.owner = owner
        self.base = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 64), alignment: 64)
    }

    deinit { base.deallocate() }
}

/// The reference backend: plain loops a reader can check against the formulas, OpenBLAS for GEMM,
/// SIMD inner loops over the embedding dimension, and work split over threads where it pays.
///
/// Every op runs synchronously on the calling thread (helped by `threads − 1` workers), so
/// `synchronize()` has nothing to wait for.
public final class CPUBackend: Backend {
    /// Threads used by the Swift loops and by OpenBLAS.
    public let threads: Int
    /// The threads that split ops (the caller is one of them).
    let team: WorkerTeam
    /// Reusable host scratch memory for ops that need temporaries.
    private var scratchMemory = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
    private var scratchBytes = 64

    /// - Parameter threads: worker count; `nil` means one per active core.
    public init(threads: Int? = nil) {
        let n = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        self.threads = n
        team = WorkerTeam(size: n)
        // OpenBLAS stays single-threaded; `sgemm` splits large products over `threads` itself.
        openblas_set_num_threads(1)
    }

    deinit { scratchMemory.deallocate() }

    /// `count` floats of scratch, valid until the next call (ops run one at a time).
    func scratch(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count * 4 > scratchBytes {
            scratchMemory.deallocate()
            scratchBytes = max(count * 4, scratchBytes * 2)
            scratchMemory = UnsafeMutableRawPointer.allocate(byteCount: scratchBytes, alignment: 64)
        }
        return scratchMemory.assumingMemoryBound(to: Float.self)
    }

    public var name: String { "cpu" }

    public var deviceDescription: String {
        "CPU backend: OpenBLAS (\(OpenBLASKernels.coreName) kernels) + C kernels (\(Self.kernelInstructionSet)), "
            + "\(threads) thread\(threads == 1 ? "" : "s")"
    }

    /// The instruction set the C kernels run with: "avx2+fma" where the CPU has it, else
    /// "baseline"; `LOOM_CPU_KERNELS=baseline` forces the baseline build (to test it on an AVX2
    /// machine).
    public static var kernelInstructionSet: String { String(cString: loom_cpu_kernel_isa()) }

    /// The values `LOOM_CPU_KERNELS` may take: unset, `auto` (the best the CPU has) or `baseline`.
    package static func checkKernelOverride(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let value = environment["LOOM_CPU_KERNELS"], !["", "auto", "baseline"].contains(value) else { return }
        throw LoomError.invalidArgument("LOOM_CPU_KERNELS=\(value) is not a kernel set: use 'baseline' or 'auto'")
    }

    // MARK: Memory

    public func allocate(_ shape: Shape, dtype: DType) throws -> Tensor {
        Tensor(storage: CPUStorage(byteCount: shape.count * dtype.size, owner: ObjectIdentifier(self)),
               shape: shape, dtype: dtype)
    }

    public func upload(_ bytes: UnsafeRawBufferPointer, to tensor: Tensor) throws {
        try Check.owned("upload", by: self, tensor)
        try Check.transfer("upload", tensor, bytes: bytes.count)
        if let source = bytes.baseAddress, bytes.count > 0 { raw(tensor).copyMemory(from: source, byteCount: bytes.count) }
    }

    public func download(_ tensor: Tensor, into bytes: UnsafeMutableRawBufferPointer) throws {
        try Check.owned("download", by: self, tensor)
        try Check.transfer("download", tensor, bytes: bytes.count)
        if let destination = bytes.baseAddress, bytes.count > 0 {
            destination.copyMemory(from: raw(tensor), byteCount: bytes.count)
        }
    }

    public func synchronize() throws {}

    public func fill(_ tensor: Tensor, value: Float) throws {
        try Check.owned("fill", by: self, tensor)
        switch tensor.dtype {
        case .float32:
            let p = f(tensor)
            parallelFor(tensor.count) { r in for i in r { p[i] = value } }
        case .int32:
            let p = raw(tensor).assumingMemoryBound(to: Int32.self)
            let v = Int32(value)
            parallelFor(tensor.count) { r in for i in r { p[i] = v } }
        }
    }

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        try Check.owned("copy", by: self, source, destination)
        try Check.copy(source, to: destination)
        if source.byteCount > 0 {
            raw(destination).copyMemory(from: raw(source), byteCount: source.byteCount)
        }
    }

    // MARK: Access (internal)

    @inline(__always) func raw(_ t: Tensor) -> UnsafeMutableRawPointer {
        unsafeDowncast(t.storage, to: CPUStorage.self).base + t.byteOffset
    }

    /// The float elements of `t`.
    @inline(__always) func f(_ t: Tensor) -> UnsafeMutablePointer<Float> {
        raw(t).assumingMemoryBound(to: Float.self)
    }

    /// The int32 elements of `t`.
    @inline(__always) func i32(_ t: Tensor) -> UnsafeMutablePointer<Int32> {
        raw(t).assumingMemoryBound(to: Int32.self)
    }

    /// Checks every id of `ids` against `rule` on the host before the op runs, so the CPU backend
    /// reports a bad id at once (OpenCL kernels test the same rule and report at `synchronize`).
    func checkIDs(_ op: String, _ ids: Tensor, _ rule: IDRule, bound: Int) throws {
        try Check.ids(op, UnsafeBufferPointer(start: i32(ids), count: ids.count), rule, bound: bound)
    }

    /// Runs `body` over `0..<count` split into contiguous chunks, on up to `threads` threads.
    /// Chunks hold at least `grain` items, so small work stays on the calling thread.
    func parallelFor(_ count: Int, grain: Int = 16_384, _ body: (Range<Int>) -> Void) {
        let chunks = min(threads, count / max(grain, 1))
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        team.run(chunks) { c in
            let lo = count * c / chunks, hi = count * (c + 1) / chunks
            body(lo..<hi)
        }
    }

    /// Scatter-style work split by destination row: `body(part, parts)` handles the rows `r` with
    /// `r % parts == part`, so no two threads write one row and each row's additions keep their
    /// order (deterministic). `work` (elements written) decides how many threads pay.
    func forEachRowOwner(work: Int, _ body: (_ part: Int, _ parts: Int) -> Void) {
        let parts = min(threads, max(1, work / 8_192))
        if parts <= 1 { body(0, 1) } else { team.run(parts) { body($0, parts) } }
    }
}
