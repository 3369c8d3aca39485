import COpenCL

/// A failed OpenCL or CLBlast call, by name.
public enum OpenCLError: Error, CustomStringConvertible {
    /// `clGetPlatformIDs` found no platform (-1001, `CL_PLATFORM_NOT_FOUND_KHR`): no ICD installed,
    /// or `OCL_ICD_VENDORS` points at an empty folder.
    case noPlatform
    /// No device matched the request.
    case noDevice(String)
    /// An OpenCL call returned an error code.
    case call(function: String, code: Int32)
    /// The device ran out of memory for an allocation or a launch.
    case outOfMemory(function: String, code: Int32, bytes: Int)
    /// A program did not compile; `log` is the compiler's build log.
    case buildFailed(program: String, device: String, log: String)
    /// A CLBlast routine returned an error status.
    case clblast(function: String, status: Int32)

    public var description: String {
        switch self {
        case .noPlatform:
            return "no OpenCL platform found (CL_PLATFORM_NOT_FOUND_KHR, -1001): install an OpenCL driver "
                + "(e.g. pocl-opencl-icd) or choose --device cpu"
        case let .noDevice(what):
            return "no OpenCL device: \(what)"
        case let .call(function, code):
            return "\(function) failed: \(OpenCLError.name(of: code)) (\(code))"
        case let .outOfMemory(function, code, bytes):
            return "\(function) failed: \(OpenCLError.name(of: code)) (\(code)): the device is out of memory"
                + (bytes > 0 ? " allocating \(bytes) bytes" : "")
        case let .buildFailed(program, device, log):
            return "OpenCL program \(program) did not compile for \(device):\n\(log)"
        case let .clblast(function, status):
            return "CLBlast \(function) failed: \(OpenCLError.clblastName(of: status)) (\(status))"
        }
    }

    /// Throws the named error for a non-success code.
    @inline(__always)
    static func check(_ code: cl_int, _ function: @autoclosure () -> String, bytes: Int = 0) throws {
        guard code != CL_SUCCESS else { return }
        throw from(code, function(), bytes: bytes)
    }

    static func from(_ code: cl_int, _ function: String, bytes: Int = 0) -> OpenCLError {
        if code == -1001 { return .noPlatform }
        let exhausted = [CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_OUT_OF_RESOURCES, CL_OUT_OF_HOST_MEMORY].contains(code)
        // An allocation over CL_DEVICE_MAX_MEM_ALLOC_SIZE fails with CL_INVALID_BUFFER_SIZE.
        if exhausted || (code == CL_INVALID_BUFFER_SIZE && bytes > 0) {
            return .outOfMemory(function: function, code: code, bytes: bytes)
        }
        return .call(function: function, code: code)
    }

    /// The `CL_…` name of an OpenCL error code.
    static func name(of code: Int32) -> String {
        switch code {
        case 0: return "CL_SUCCESS"
        case -1: return "CL_DEVICE_NOT_FOUND"
        case -2: return "CL_DEVICE_NOT_AVAILABLE"
        case -3: return "CL_COMPILER_NOT_AVAILABLE"
        case -4: return "CL_MEM_OBJECT_ALLOCATION_FAILURE"
        case -5: return "CL_OUT_OF_RESOURCES"
        case -6: return "CL_OUT_OF_HOST_MEMORY"
        case -7: return "CL_PROFILING_INFO_NOT_AVAILABLE"
        case -8: return "CL_MEM_COPY_OVERLAP"
        case -9: return "CL_IMAGE_FORMAT_MISMATCH"
        case -10: return "CL_IMAGE_FORMAT_NOT_SUPPORTED"
        case -11: return "CL_BUILD_PROGRAM_FAILURE"
        case -12: return "CL_MAP_FAILURE"
        case -13: return "CL_MISALIGNED_SUB_BUFFER_OFFSET"
        case -14: return "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST"
        case -15: return "CL_COMPILE_PROGRAM_FAILURE"
        case -16: return "CL_LINKER_NOT_AVAILABLE"
        case -17: return "CL_LINK_PROGRAM_FAILURE"
        case -18: return "CL_DEVICE_PARTITION_FAILED"
        case -19: return "CL_KERNEL_ARG_INFO_NOT_AVAILABLE"
        case -30: return "CL_INVALID_VALUE"
        case -31: return "CL_INVALID_DEVICE_TYPE"
        case -32: return "CL_INVALID_PLATFORM"
        case -33: return "CL_INVALID_DEVICE"
        case -34: return "CL_INVALID_CONTEXT"
        case -35: return "CL_INVALID_QUEUE_PROPERTIES"
        case -36: return "CL_INVALID_COMMAND_QUEUE"
        case -37: return "CL_INVALID_HOST_PTR"
        case -38: return "CL_INVALID_MEM_OBJECT"
        case -39: return "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR"
        case -40: return "CL_INVALID_IMAGE_SIZE"
        case -41: return "CL_INVALID_SAMPLER"
        case -42: return "CL_INVALID_BINARY"
        case -43: return "CL_INVALID_BUILD_OPTIONS"
        case -44: return "CL_INVALID_PROGRAM"
        case -45: return "CL_INVALID_PROGRAM_EXECUTABLE"
        case -46: return "CL_INVALID_KERNEL_NAME"
        case -47: return "CL_INVALID_KERNEL_DEFINITION"
        case -48: return "CL_INVALID_KERNEL"
        case -49: return "CL_INVALID_ARG_INDEX"
        case -50: return "CL_INVALID_ARG_VALUE"
        case -51: return "CL_INVALID_ARG_SIZE"
        case -52: return "CL_INVALID_KERNEL_ARGS"
        case -53: return "CL_INVALID_WORK_DIMENSION"
        case -54: return "CL_INVALID_WORK_GROUP_SIZE"
        case -55: return "CL_INVALID_WORK_ITEM_SIZE"
        case -56: return "CL_INVALID_GLOBAL_OFFSET"
        case -57: return "CL_INVALID_EVENT_WAIT_LIST"
        case -58: return "CL_INVALID_EVENT"
        case -59: return "CL_INVALID_OPERATION"
        case -60: return "CL_INVALID_GL_OBJECT"
        case -61: return "CL_INVALID_BUFFER_SIZE"
        case -62: return "CL_INVALID_MIP_LEVEL"
        case -63: return "CL_INVALID_GLOBAL_WORK_SIZE"
        case -64: return "CL_INVALID_PROPERTY"
        case -65: return "CL_INVALID_IMAGE_DESCRIPTOR"
        case -66: return "CL_INVALID_COMPILER_OPTIONS"
        case -67: return "CL_INVALID_LINKER_OPTIONS"
        case -68: return "CL_INVALID_DEVICE_PARTITION_COUNT"
        case -1001: return "CL_PLATFORM_NOT_FOUND_KHR"
        default: return "unknown OpenCL error"
        }
    }

    /// The name of a CLBlast status code (CLBlast's own codes are -2048…-2000; the rest are OpenCL's).
    static func clblastName(of status: Int32) -> String {
        switch status {
        case -2048: return "CLBlastNotImplemented"
        case -2046: return "CLBlastInvalidMatrixA"
        case -2045: return "CLBlastInvalidMatrixB"
        case -2044: return "CLBlastInvalidMatrixC"
        case -2043: return "CLBlastInvalidVectorX"
        case -2042: return "CLBlastInvalidVectorY"
        case -2041: return "CLBlastInvalidDimension"
        case -2040: return "CLBlastInvalidLeadDimA"
        case -2039: return "CLBlastInvalidLeadDimB"
        case -2038: return "CLBlastInvalidLeadDimC"
        case -2037: return "CLBlastInvalidIncrementX"
        case -2036: return "CLBlastInvalidIncrementY"
        case -2035: return "CLBlastInsufficientMemoryA"
        case -2034: return "CLBlastInsufficientMemoryB"
        case -2033: return "CLBlastInsufficientMemoryC"
        case -2032: return "CLBlastInsufficientMemoryX"
        case -2031: return "CLBlastInsufficientMemoryY"
        case -2030: return "CLBlastInsufficientMemoryTemp"
        case -2026: return "CLBlastInvalidBatchCount"
        case -2025: return "CLBlastInvalidOverrideKernel"
        case -2024: return "CLBlastMissingOverrideParameter"
        case -2023: return "CLBlastInvalidLocalMemUsage"
        case -2022: return "CLBlastNoHalfPrecision"
        case -2021: return "CLBlastNoDoublePrecision"
        case -2020: return "CLBlastInvalidVectorScalar"
        case -2019: return "CLBlastInsufficientMemoryScalar"
        case -2018: return "CLBlastDatabaseError"
        case -2017: return "CLBlastUnknownError"
        case -2016: return "CLBlastUnexpectedError"
        default: return name(of: status)
        }
    }
}
