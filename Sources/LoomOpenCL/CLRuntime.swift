import COpenCL
import Foundation
import LoomCore

// Small owning types over OpenCL handles: each releases its handle in `deinit`, and every call is
// checked and mapped to a named `OpenCLError`. Raw handles never leave this module.

// MARK: - Info queries

enum CLInfo {
    static func string(_ get: (Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> cl_int,
                       _ what: String) throws -> String {
        var size = 0
        try OpenCLError.check(get(0, nil, &size), what)
        var bytes = [CChar](repeating: 0, count: size + 1)
        try OpenCLError.check(bytes.withUnsafeMutableBytes { get(size, $0.baseAddress, nil) }, what)
        return String(cString: bytes).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func value<T: FixedWidthInteger>(_ type: T.Type,
                                            _ get: (Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> cl_int,
                                            _ what: String) throws -> T {
        var v: T = 0
        try OpenCLError.check(withUnsafeMutableBytes(of: &v) { get(MemoryLayout<T>.size, $0.baseAddress, nil) }, what)
        return v
    }

    static func device(_ id: cl_device_id, _ param: Int32) throws -> String {
        try string({ clGetDeviceInfo(id, cl_device_info(param), $0, $1, $2) }, "clGetDeviceInfo")
    }

    static func device<T: FixedWidthInteger>(_ id: cl_device_id, _ param: Int32, _ type: T.Type) throws -> T {
        try value(type, { clGetDeviceInfo(id, cl_device_info(param), $0, $1, $2) }, "clGetDeviceInfo")
    }

    static func platform(_ id: cl_platform_id, _ param: Int32) throws -> String {
        try string({ clGetPlatformInfo(id, cl_platform_info(param), $0, $1, $2) }, "clGetPlatformInfo")
    }
}

// MARK: - Platforms and devices

/// What `loom devices` shows about one OpenCL device.
public struct OpenCLDeviceInfo: Sendable, CustomStringConvertible {
    public var platformIndex: Int
    public var deviceIndex: Int
    public var platformName: String
    public var platformVendor: String
    public var platformVersion: String
    public var name: String
    public var vendor: String
    /// `GPU`, `CPU`, `accelerator` or `other`.
    public var type: String
    public var computeUnits: Int
    public var globalMemoryBytes: UInt64
    public var maxAllocationBytes: UInt64
    public var localMemoryBytes: UInt64
    public var maxWorkGroupSize: Int
    public var deviceVersion: String
    public var openCLCVersion: String
    public var driverVersion: String
    public var supportsDouble: Bool

    public var isGPU: Bool { type == "GPU" }
    /// The `--device` spelling that selects it.
    public var selector: String { "opencl:\(platformIndex):\(deviceIndex)" }

    public var description: String { "\(selector) \(name) (\(vendor), \(type))" }
}

/// One OpenCL device and the platform it belongs to.
struct CLDevice {
    let platform: cl_platform_id
    let id: cl_device_id
    let info: OpenCLDeviceInfo
}

enum CLDiscovery {
    /// Every platform's devices, in platform then device order. Throws `.noPlatform` when the ICD
    /// loader finds no platform at all.
    static func devices() throws -> [CLDevice] {
        var count: cl_uint = 0
        let code = clGetPlatformIDs(0, nil, &count)
        if code == -1001 || (code == CL_SUCCESS && count == 0) { throw OpenCLError.noPlatform }
        try OpenCLError.check(code, "clGetPlatformIDs")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(count))
        try OpenCLError.check(clGetPlatformIDs(count, &platforms, nil), "clGetPlatformIDs")

        var result: [CLDevice] = []
        for (p, platform) in platforms.enumerated() {
            guard let platform else { continue }
            var n: cl_uint = 0
            let status = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &n)
            if status == CL_DEVICE_NOT_FOUND || n == 0 { continue }
            try OpenCLError.check(status, "clGetDeviceIDs")
            var ids = [cl_device_id?](repeating: nil, count: Int(n))
            try OpenCLError.check(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), n, &ids, nil),
                                  "clGetDeviceIDs")
            for (d, id) in ids.enumerated() {
                guard let id else { continue }
                result.append(CLDevice(platform: platform, id: id,
                                       info: try describe(platform: platform, p, device: id, d)))
            }
        }
        return result
    }

    static func describe(platform: cl_platform_id, _ p: Int, device id: cl_device_id, _ d: Int) throws
        -> OpenCLDeviceInfo {
        let type = try CLInfo.device(id, CL_DEVICE_TYPE, cl_device_type.self)
        let typeName: String
        if type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 { typeName = "GPU" }
        else if type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { typeName = "CPU" }
        else if type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 { typeName = "accelerator" }
        else { typeName = "other" }
        let extensions = try CLInfo.device(id, CL_DEVICE_EXTENSIONS)
        return OpenCLDeviceInfo(
            platformIndex: p, deviceIndex: d,
            platformName: try CLInfo.platform(platform, CL_PLATFORM_NAME),
            platformVendor: try CLInfo.platform(platform, CL_PLATFORM_VENDOR),
            platformVersion: try CLInfo.platform(platform, CL_PLATFORM_VERSION),
            name: try CLInfo.device(id, CL_DEVICE_NAME),
            vendor: try CLInfo.device(id, CL_DEVICE_VENDOR),
            type: typeName,
            computeUnits: Int(try CLInfo.device(id, CL_DEVICE_MAX_COMPUTE_UNITS, cl_uint.self)),
            globalMemoryBytes: try CLInfo.device(id, CL_DEVICE_GLOBAL_MEM_SIZE, cl_ulong.self),
            maxAllocationBytes: try CLInfo.device(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE, cl_ulong.self),
            localMemoryBytes: try CLInfo.device(id, CL_DEVICE_LOCAL_MEM_SIZE, cl_ulong.self),
            maxWorkGroupSize: try CLInfo.device(id, CL_DEVICE_MAX_WORK_GROUP_SIZE, Int.self),
            deviceVersion: try CLInfo.device(id, CL_DEVICE_VERSION),
            openCLCVersion: try CLInfo.device(id, CL_DEVICE_OPENCL_C_VERSION),
            driverVersion: try CLInfo.device(id, CL_DRIVER_VERSION),
            supportsDouble: extensions.contains("cl_khr_fp64"))
    }
}

// MARK: - Context and queue

/// An OpenCL context on one device.
final class CLContext: @unchecked Sendable {
    let handle: cl_context

    init(device: cl_device_id) throws {
        var err: cl_int = CL_SUCCESS
        var dev: cl_device_id? = device
        guard let ctx = clCreateContext(nil, 1, &dev, nil, nil, &err), err == CL_SUCCESS else {
            throw OpenCLError.from(err, "clCreateContext")
        }
        handle = ctx
    }

    deinit { clReleaseContext(handle) }
}

/// An in-order command queue, optionally with profiling events.
final class CLQueue: @unchecked Sendable {
    let handle: cl_command_queue

    init(context: CLContext, device: cl_device_id, profiling: Bool) throws {
        var err: cl_int = CL_SUCCESS
        let props = cl_command_queue_properties(profiling ? CL_QUEUE_PROFILING_ENABLE : 0)
        guard let q = clCreateCommandQueue(context.handle, device, props, &err), err == CL_SUCCESS else {
            throw OpenCLError.from(err, "clCreateCommandQueue")
        }
        handle = q
    }

    func finish() throws { try OpenCLError.check(clFinish(handle), "clFinish") }

    deinit {
        clFinish(handle)
        clReleaseCommandQueue(handle)
    }
}

// MARK: - Buffers

/// Device memory: the OpenCL backend's `DeviceStorage`. A zero-byte buffer holds no `cl_mem`
/// (OpenCL cannot create one) and every op on it is a no-op.
final class CLBuffer: DeviceStorage, @unchecked Sendable {
    let byteCount: Int
    let owner: ObjectIdentifier
    let handle: cl_mem?

    init(context: CLContext, byteCount: Int, owner: ObjectIdentifier) throws {
        self.byteCount = byteCount
        self.owner = owner
        if byteCount == 0 {
            handle = nil
            return
        }
        var err: cl_int = CL_SUCCESS
        let mem = clCreateBuffer(context.handle, cl_mem_flags(CL_MEM_READ_WRITE), byteCount, nil, &err)
        guard let mem, err == CL_SUCCESS else { throw OpenCLError.from(err, "clCreateBuffer", bytes: byteCount) }
        handle = mem
    }

    deinit { if let handle { clReleaseMemObject(handle) } }
}

// MARK: - Programs and kernels

/// A program built for one device, from source or from a cached binary.
final class CLProgram: @unchecked Sendable {
    let handle: cl_program

    /// Compiles `source`; a failure carries the build log.
    init(source: String, name: String, context: CLContext, device: CLDevice, options: String) throws {
        var err: cl_int = CL_SUCCESS
        let program: cl_program? = source.withCString { ptr in
            var strings: [UnsafePointer<CChar>?] = [ptr]
            return clCreateProgramWithSource(context.handle, 1, &strings, nil, &err)
        }
        guard let program, err == CL_SUCCESS else { throw OpenCLError.from(err, "clCreateProgramWithSource") }
        handle = program
        try build(name: name, device: device, options: options)
    }

    /// Loads a binary produced by `binary()`; throws if the driver rejects it.
    init(binary: [UInt8], name: String, context: CLContext, device: CLDevice, options: String) throws {
        var err: cl_int = CL_SUCCESS
        var binaryStatus: cl_int = CL_SUCCESS
        var dev: cl_device_id? = device.id
        var length = binary.count
        let program: cl_program? = binary.withUnsafeBufferPointer { buf in
            var pointers: [UnsafePointer<UInt8>?] = [buf.baseAddress]
            return clCreateProgramWithBinary(context.handle, 1, &dev, &length, &pointers, &binaryStatus, &err)
        }
        guard let program, err == CL_SUCCESS, binaryStatus == CL_SUCCESS else {
            throw OpenCLError.from(err != CL_SUCCESS ? err : binaryStatus, "clCreateProgramWithBinary")
        }
        handle = program
        try build(name: name, device: device, options: options)
    }

    private func build(name: String, device: CLDevice, options: String) throws {
        var dev: cl_device_id? = device.id
        let code = clBuildProgram(handle, 1, &dev, options, nil, nil)
        guard code == CL_SUCCESS else {
            if code == CL_BUILD_PROGRAM_FAILURE {
                let log = (try? CLInfo.string({ clGetProgramBuildInfo(self.handle, device.id,
                                                                      cl_program_build_info(CL_PROGRAM_BUILD_LOG),
                                                                      $0, $1, $2) }, "clGetProgramBuildInfo"))
                throw OpenCLError.buildFailed(program: name, device: device.info.name, log: log ?? "(no build log)")
            }
            throw OpenCLError.from(code, "clBuildProgram(\(name))")
        }
    }

    /// The device binary, for the on-disk cache.
    func binary() throws -> [UInt8] {
        let size = try CLInfo.value(Int.self, { clGetProgramInfo(self.handle, cl_program_info(CL_PROGRAM_BINARY_SIZES),
                                                                  $0, $1, $2) }, "clGetProgramInfo")
        guard size > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: size)
        let code = bytes.withUnsafeMutableBufferPointer { buf -> cl_int in
            var pointers: [UnsafeMutablePointer<UInt8>?] = [buf.baseAddress]
            return pointers.withUnsafeMutableBytes {
                clGetProgramInfo(handle, cl_program_info(CL_PROGRAM_BINARIES), $0.count, $0.baseAddress, nil)
            }
        }
        try OpenCLError.check(code, "clGetProgramInfo(CL_PROGRAM_BINARIES)")
        return bytes
    }

    deinit { clReleaseProgram(handle) }
}

/// One kernel function of a program, with its launch limits.
final class CLKernel: @unchecked Sendable {
    let handle: cl_kernel
    let name: String
    /// `CL_KERNEL_WORK_GROUP_SIZE`: the largest work-group this kernel can run with on the device.
    let maxWorkGroupSize: Int

    init(program: CLProgram, name: String, device: cl_device_id) throws {
        var err: cl_int = CL_SUCCESS
        guard let k = clCreateKernel(program.handle, name, &err), err == CL_SUCCESS else {
            throw OpenCLError.from(err, "clCreateKernel(\(name))")
        }
        handle = k
        self.name = name
        maxWorkGroupSize = try CLInfo.value(Int.self, {
            clGetKernelWorkGroupInfo(k, device, cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE), $0, $1, $2)
        }, "clGetKernelWorkGroupInfo")
    }

    func set<T: BitwiseCopyable>(_ index: Int, _ value: T) throws {
        let code = withUnsafeBytes(of: value) { clSetKernelArg(handle, cl_uint(index), $0.count, $0.baseAddress) }
        try OpenCLError.check(code, "clSetKernelArg(\(name), \(index))")
    }

    func setLocal(_ index: Int, bytes: Int) throws {
        try OpenCLError.check(clSetKernelArg(handle, cl_uint(index), bytes, nil), "clSetKernelArg(\(name), \(index))")
    }

    deinit { clReleaseKernel(handle) }
}
