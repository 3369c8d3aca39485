import Foundation

/// Which device a run asks for: `--device` or `LOOM_DEVICE`.
///
/// - `cpu`: the CPU backend.
/// - `opencl`: the first OpenCL GPU, else the first OpenCL device.
/// - `opencl:P:D`: device D of platform P, as `loom devices` numbers them.
/// - `auto`: the first OpenCL GPU, else the CPU backend.
public enum DeviceRequest: Equatable, Sendable, CustomStringConvertible {
    case auto
    case cpu
    case opencl
    case openclDevice(platform: Int, device: Int)

    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        switch t {
        case "auto", "": self = .auto
        case "cpu": self = .cpu
        case "opencl", "gpu": self = .opencl
        default:
            let parts = t.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "opencl", let p = Int(parts[1]), let d = Int(parts[2]), p >= 0, d >= 0
            else {
                throw LoomError.invalidArgument(
                    "unknown device '\(text)': use cpu, opencl, opencl:PLATFORM:DEVICE (see `loom devices`) or auto")
            }
            self = .openclDevice(platform: p, device: d)
        }
    }

    /// `--device` when given, else `LOOM_DEVICE`, else `auto`.
    public static func resolve(_ flag: String?) throws -> DeviceRequest {
        if let flag { return try DeviceRequest(parsing: flag) }
        if let env = ProcessInfo.processInfo.environment["LOOM_DEVICE"], !env.isEmpty {
            return try DeviceRequest(parsing: env)
        }
        return .auto
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .cpu: return "cpu"
        case .opencl: return "opencl"
        case let .openclDevice(p, d): return "opencl:\(p):\(d)"
        }
    }
}

/// A backend opened for a request, with a sentence saying what was chosen and why.
public struct SelectedDevice {
    public let backend: any Backend
    public let explanation: String
}

public enum DeviceSelection {
    /// Opens the backend `request` names. Explicit requests never fall back: a missing OpenCL
    /// device is an error. Only `auto` moves to the CPU, and says so.
    public static func open(_ request: DeviceRequest, threads: Int? = nil, profiling: Bool = false)
        throws -> SelectedDevice {
        try CPUBackend.checkKernelOverride()
        switch request {
        case .cpu:
            let cpu = CPUBackend(threads: threads)
            return SelectedDevice(backend: cpu, explanation: "using \(cpu.deviceDescription)")
        case let .openclDevice(p, d):
            let backend = try OpenCLBackend(platform: p, device: d, profiling: profiling)
            return SelectedDevice(backend: backend, explanation: "using \(backend.name): \(backend.deviceDescription)")
        case .opencl:
            let devices = try OpenCLBackend.devices()
            guard let pick = devices.first(where: \.isGPU) ?? devices.first else {
                throw OpenCLError.noDevice("no OpenCL device on any platform")
            }
            let backend = try OpenCLBackend(platform: pick.platformIndex, device: pick.deviceIndex, profiling: profiling)
            return SelectedDevice(backend: backend, explanation: "using \(backend.name): \(backend.deviceDescription)")
        case .auto:
            let reason: String
            do {
                if let gpu = try OpenCLBackend.devices().first(where: \.isGPU) {
                    let backend = try OpenCLBackend(platform: gpu.platformIndex, device: gpu.deviceIndex,
                                                    profiling: profiling)
                    return SelectedDevice(backend: backend,
                                          explanation: "auto: using OpenCL GPU \(backend.name): \(backend.deviceDescription)")
                }
                reason = "no OpenCL GPU found"
            } catch let error as OpenCLError {
                reason = "\(error)"
            }
            let cpu = CPUBackend(threads: threads)
            return SelectedDevice(backend: cpu, explanation: "auto: \(reason); using the \(cpu.deviceDescription)")
        }
    }

    /// What to tell a person who asked for `threads` CPU threads when `backend` is not the CPU
    /// backend (an OpenCL device, explicit or picked by `auto`), which does not use them; nil when
    /// no threads were asked for or the CPU backend runs.
    /// - Parameter hostUse: what the threads still set on the host, if anything (e.g. t-SNE's
    ///   affinities and Barnes-Hut).
    public static func threadsNote(threads: Int?, backend: any Backend, hostUse: String? = nil) -> String? {
        guard let threads, !(backend is CPUBackend) else { return nil }
        if let hostUse {
            return "note: --threads \(threads) sets only the host's threads (\(hostUse)); the device ops run on "
                + "\(backend.name), which does not use them"
        }
        return "note: --threads \(threads) is not used: it sets the CPU backend's threads, and this run is on "
            + "\(backend.name) (--device cpu runs on the CPU)"
    }
}
