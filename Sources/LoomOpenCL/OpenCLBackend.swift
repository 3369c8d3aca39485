import COpenCL
import Foundation
import LoomCore
import LoomKernels
import Logging

/// The OpenCL backend: one device, one in-order queue, GEMM through CLBlast and every other op a
/// hand-written kernel from `Kernels/*.cl`.
///
/// Ops are enqueued and return at once; `download` and `synchronize` wait. Programs are compiled
/// on first use and kept in memory and in `ProgramCache` on disk. Kernels that read ids from device
/// memory flag bad ids in an error word that `synchronize` and `download` check, so a bad id is
/// reported (as `LoomError.indexOutOfRange`) without a host round trip per op.
public final class OpenCLBackend: Backend {
    /// The device this backend runs on.
    public let info: OpenCLDeviceInfo
    /// Whether kernel launches record profiling events (see `takeProfile()`).
    public let profiling: Bool

    let device: CLDevice
    let context: CLContext
    let queue: CLQueue
    let cache: ProgramCache?
    let logger = Logger(label: "loom.opencl")

    /// Build options for every program.
    let buildOptions = "-cl-std=CL1.2"
    private var programs: [KernelSources.Family: CLProgram] = [:]
    private var kernels: [String: CLKernel] = [:]
    /// The error word kernels flag bad ids in (see `common.cl`): op bits, then the first bad id,
    /// its bound and its op's bit.
    private var errorWord: CLBuffer!
    private static let errorWordBytes = 16
    /// The ops behind the error word's bits, as `Kernels/common.cl` numbers them.
    private static let errorOps: [(bit: Int32, op: String)] = [
        (1, "gather"), (2, "scatterAdd"), (4, "softmaxCrossEntropy"), (8, "applyUpdate"), (16, "sampledSoftmax"),
        (32, "maskedSoftmax"), (64, "negativeSampling"), (128, "word2vecPass"), (256, "embeddingBag"),
        (512, "embeddingBagBackward"), (1024, "softmaxCrossEntropyBackward"),
    ]
    /// Scratch for two-stage reductions: one partial per work-group.
    var partials: CLBuffer!
    static let maxReductionGroups = 256
    /// Host copies of uploads still in flight, freed once their write completes.
    private var pendingUploads: [(event: cl_event, memory: UnsafeMutableRawPointer)] = []
    /// Profiling events of launches since the last `takeProfile()`.
    private var profiledEvents: [(name: String, event: cl_event)] = []

    /// Every OpenCL device on this machine. Throws `OpenCLError.noPlatform` when there is none.
    public static func devices() throws -> [OpenCLDeviceInfo] { try CLDiscovery.devices().map(\.info) }

    /// Opens device `device` of platform `platform` (indices as `loom devices` lists them).
    /// - Parameter cacheDirectory: where compiled programs are kept; `nil` for the default, and
    ///   pass `useDiskCache: false` to compile every time.
    public init(platform: Int, device: Int, profiling: Bool = false, useDiskCache: Bool = true,
                cacheDirectory: URL? = nil) throws {
        let all = try CLDiscovery.devices()
        guard let found = all.first(where: { $0.info.platformIndex == platform && $0.info.deviceIndex == device }) else {
            let list = all.map { $0.info.description }.joined(separator: ", ")
            throw OpenCLError.noDevice("opencl:\(platform):\(device) does not exist (have: \(list))")
        }
        self.device = found
        self.info = found.info
        self.profiling = profiling
        self.context = try CLContext(device: found.id)
        self.queue = try CLQueue(context: context, device: found.id, profiling: profiling)
        self.cache = useDiskCache ? ProgramCache(directory: cacheDirectory ?? ProgramCache.defaultDirectory) : nil
        self.errorWord = try CLBuffer(context: context, byteCount: Self.errorWordBytes, owner: ObjectIdentifier(self))
        self.partials = try CLBuffer(context: context, byteCount: 4 * Self.maxReductionGroups,
                                     owner: ObjectIdentifier(self))
        try resetErrorWord()
    }

    deinit {
        try? queue.finish()
        releaseCompletedUploads(all: true)
        for (_, event) in profiledEvents { clReleaseEvent(event) }
    }

    public var name: String { info.selector }

    public var deviceDescription: String {
        "\(info.name) (\(info.vendor), \(info.type), \(info.computeUnits) compute units) on \(info.platformName), "
            + "driver \(info.driverVersion)"
    }

    // MARK: Memory

    public func allocate(_ shape: Shape, dtype: DType) throws -> Tensor {
        let bytes = shape.count * dtype.size
        if UInt64(bytes) > info.maxAllocationBytes {
            throw OpenCLError.outOfMemory(function: "clCreateBuffer", code: CL_INVALID_BUFFER_SIZE, bytes: bytes)
        }
        return Tensor(storage: try CLBuffer(context: context, byteCount: bytes, owner: ObjectIdentifier(self)),
                      shape: shape, dtype: dtype)
    }

    public func upload(_ bytes: UnsafeRawBufferPointer, to tensor: Tensor) throws {
        try Check.owned("upload", by: self, tensor)
        try Check.transfer("upload", tensor, bytes: bytes.count)
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        releaseCompletedUploads(all: false)
        // A non-blocking write from a private copy: the caller may reuse its memory at once, and the
        // device keeps running the work already enqueued.
        let staging = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
        staging.copyMemory(from: source, byteCount: bytes.count)
        var event: cl_event?
        let code = clEnqueueWriteBuffer(queue.handle, mem(tensor), cl_bool(CL_FALSE), tensor.byteOffset, bytes.count,
                                        staging, 0, nil, &event)
        guard code == CL_SUCCESS, let event else {
            staging.deallocate()
            throw OpenCLError.from(code, "clEnqueueWriteBuffer", bytes: bytes.count)
        }
        pendingUploads.append((event, staging))
    }

    public func download(_ tensor: Tensor, into bytes: UnsafeMutableRawBufferPointer) throws {
        try Check.owned("download", by: self, tensor)
        try Check.transfer("download", tensor, bytes: bytes.count)
        if bytes.count > 0 {
            try OpenCLError.check(clEnqueueReadBuffer(queue.handle, mem(tensor), cl_bool(CL_TRUE), tensor.byteOffset,
                                                      bytes.count, bytes.baseAddress, 0, nil, nil),
                                  "clEnqueueReadBuffer")
        }
        try checkErrorWord()
    }

    public func synchronize() throws {
        try queue.finish()
        releaseCompletedUploads(all: true)
        try checkErrorWord()
    }

    public func fill(_ tensor: Tensor, value: Float) throws {
        try Check.owned("fill", by: self, tensor)
        try Check.fitsInt32("fill", tensor)
        switch tensor.dtype {
        case .float32:
            try launch(.elementwise, "fill_f32", global: tensor.count,
                       [.tensor(tensor), .float(value), .int(tensor.count)])
        case .int32:
            try launch(.elementwise, "fill_i32", global: tensor.count,
                       [.tensor(tensor), .int(Int(value)), .int(tensor.count)])
        }
    }

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        try Check.owned("copy", by: self, source, destination)
        try Check.copy(source, to: destination)
        guard source.byteCount > 0 else { return }
        try enqueue("copy") { event in
            clEnqueueCopyBuffer(queue.handle, mem(source), mem(destination), source.byteOffset,
                                destination.byteOffset, source.byteCount, 0, nil, event)
        }
    }

    // MARK: Profiling

    /// Device time of one launch, from its profiling event.
    public struct KernelTiming: Sendable {
        public var name: String
        public var nanoseconds: UInt64
    }

    /// Waits for the queue and returns the device time of every launch since the last call
    /// (empty unless the backend was created with `profiling: true`).
    public func takeProfile() throws -> [KernelTiming] {
        try queue.finish()
        defer {
            for (_, e) in profiledEvents { clReleaseEvent(e) }
            profiledEvents.removeAll()
        }
        return try profiledEvents.map { name, event in
            let start = try CLInfo.value(cl_ulong.self, {
                clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_START), $0, $1, $2)
            }, "clGetEventProfilingInfo")
            let end = try CLInfo.value(cl_ulong.self, {
                clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_END), $0, $1, $2)
            }, "clGetEventProfilingInfo")
            return KernelTiming(name: name, nanoseconds: end >= start ? end - start : 0)
        }
    }

    /// Runs an enqueue call, handing it an event slot when profiling (else nil), and keeps the
    /// event under `name`. `call` returns the OpenCL status.
    func enqueue(_ name: String, _ call: (UnsafeMutablePointer<cl_event?>?) -> cl_int) throws {
        var event: cl_event?
        let code = withUnsafeMutablePointer(to: &event) { profiling ? call($0) : call(nil) }
        try OpenCLError.check(code, "\(name): enqueue")
        if let event { profiledEvents.append((name, event)) }
    }

    // MARK: Launching kernels

    /// A kernel argument. A tensor takes two parameters: its buffer and its offset in elements.
    enum Arg {
        case tensor(Tensor)
        case int(Int)
        case uint(UInt32)
        case ulong(UInt64)
        case float(Float)
        /// The backend's error word.
        case errorWord
        /// `__local` memory of this many bytes.
        case local(Int)
    }

    /// The compiled kernel `name` of `family`, building the program on first use.
    func kernel(_ family: KernelSources.Family, _ name: String) throws -> CLKernel {
        if let k = kernels[name] { return k }
        let k = try CLKernel(program: try program(family), name: name, device: device.id)
        kernels[name] = k
        return k
    }

    /// The largest power of two usable as the work-group size of `kernel`, at most `cap`.
    func powerOfTwoGroup(_ kernel: CLKernel, cap: Int = 256) -> Int {
        var size = 1
        while size * 2 <= min(cap, kernel.maxWorkGroupSize, info.maxWorkGroupSize) { size *= 2 }
        return size
    }

    /// Enqueues `name` over `global` work-items (rounded up to whole work-groups; kernels check
    /// their bounds). `local` nil picks up to 256 per group. A launch of zero items does nothing.
    func launch(_ family: KernelSources.Family, _ name: String, global: Int, local: Int? = nil, _ args: [Arg]) throws {
        guard global > 0 else { return }
        let k = try kernel(family, name)
        var index = 0
        for arg in args {
            switch arg {
            case let .tensor(t):
                var m: cl_mem? = (t.storage as! CLBuffer).handle
                try OpenCLError.check(clSetKernelArg(k.handle, cl_uint(index), MemoryLayout<cl_mem?>.size, &m),
                                      "clSetKernelArg(\(name), \(index))")
                try k.set(index + 1, try Self.int32(t.offset, name, index + 1))
                index += 2
                continue
            case let .int(v): try k.set(index, try Self.int32(v, name, index))
            case let .uint(v): try k.set(index, v)
            case let .ulong(v): try k.set(index, cl_ulong(v))
            case let .float(v): try k.set(index, v)
            case .errorWord:
                var m: cl_mem? = errorWord.handle
                try OpenCLError.check(clSetKernelArg(k.handle, cl_uint(index), MemoryLayout<cl_mem?>.size, &m),
                                      "clSetKernelArg(\(name), \(index))")
            case let .local(bytes): try k.setLocal(index, bytes: bytes)
            }
            index += 1
        }
        let groupSize = local ?? min(256, k.maxWorkGroupSize)
        var globalSize = (global + groupSize - 1) / groupSize * groupSize
        var localSize = groupSize
        try enqueue(name) { event in
            clEnqueueNDRangeKernel(queue.handle, k.handle, 1, nil, &globalSize, &localSize, 0, nil, event)
        }
    }

    /// A kernel's int argument; ops check their sizes first (`Check.fitsInt32`), so this only
    /// guards against a size no check covered.
    private static func int32(_ value: Int, _ kernel: String, _ index: Int) throws -> Int32 {
        guard let v = Int32(exactly: value) else {
            throw LoomError.unsupported("\(kernel): argument \(index) is \(value), beyond the kernels' 32-bit ints")
        }
        return v
    }

    /// Launches one work-group of `groupSize` items per row (`rows` groups).
    func launchRows(_ family: KernelSources.Family, _ name: String, rows: Int, groupSize: Int, _ args: [Arg]) throws {
        try launch(family, name, global: rows * groupSize, local: groupSize, args)
    }

    // MARK: Internals

    @inline(__always) func mem(_ t: Tensor) -> cl_mem? { (t.storage as! CLBuffer).handle }

    private func program(_ family: KernelSources.Family) throws -> CLProgram {
        if let p = programs[family] { return p }
        let (source, origin) = try KernelSources.program(family)
        let key = ProgramCache.key(device: info, options: buildOptions, source: source)
        var built: CLProgram?
        if let cache, let binary = cache.load(key: key) {
            do {
                built = try CLProgram(binary: binary, name: family.fileName, context: context, device: device,
                                      options: buildOptions)
            } catch {
                logger.debug("discarding cached binary of \(family.fileName): \(error)")
                cache.remove(key: key)
            }
        }
        if built == nil {
            logger.debug("compiling \(origin) for \(info.name)")
            let p = try CLProgram(source: source, name: family.fileName, context: context, device: device,
                                  options: buildOptions)
            if let cache, let binary = try? p.binary() { cache.store(key: key, binary: binary) }
            built = p
        }
        programs[family] = built!
        return built!
    }

    private func releaseCompletedUploads(all: Bool) {
        pendingUploads.removeAll { event, memory in
            if !all {
                var status: cl_int = 0
                let code = clGetEventInfo(event, cl_event_info(CL_EVENT_COMMAND_EXECUTION_STATUS),
                                          MemoryLayout<cl_int>.size, &status, nil)
                // Still queued or running (a negative status is a failed command: let it go too).
                if code == CL_SUCCESS && status > CL_COMPLETE { return false }
            }
            clReleaseEvent(event)
            memory.deallocate()
            return true
        }
    }

    private func resetErrorWord() throws {
        var zero = [Int32](repeating: 0, count: Self.errorWordBytes / 4)
        try OpenCLError.check(clEnqueueWriteBuffer(queue.handle, errorWord.handle, cl_bool(CL_TRUE), 0, Self.errorWordBytes,
                                                   &zero, 0, nil, nil), "clEnqueueWriteBuffer")
    }

    /// Reads the error word; when a kernel flagged a bad id, clears it and throws
    /// `LoomError.indexOutOfRange` for the first one (as the CPU backend reports it before the op;
    /// here the bad elements were skipped). Other ops that flagged since are named with it.
    private func checkErrorWord() throws {
        var word = [Int32](repeating: 0, count: Self.errorWordBytes / 4)
        try OpenCLError.check(clEnqueueReadBuffer(queue.handle, errorWord.handle, cl_bool(CL_TRUE), 0, Self.errorWordBytes,
                                                  &word, 0, nil, nil), "clEnqueueReadBuffer")
        guard word[0] != 0 else { return }
        try resetErrorWord()
        let first = Self.errorOps.first { $0.bit == word[3] }?.op ?? "a kernel"
        let others = Self.errorOps.filter { word[0] & $0.bit != 0 && $0.bit != word[3] }.map(\.op)
        let op = others.isEmpty ? first : "\(first) (and \(others.joined(separator: ", ")))"
        throw LoomError.indexOutOfRange(op: op, index: Int(word[1]), bound: Int(word[2]))
    }
}
