import ArgumentParser
import Foundation
import Loom

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the CPU backend and every OpenCL platform and device.")

    @Option(help: "Also open this device (cpu, opencl, opencl:P:D, auto) and say which was chosen.")
    var device: String?

    func run() throws {
        let cpu = CPUBackend()
        print("cpu          \(cpu.deviceDescription)")
        if let better = OpenBLASKernels.recommendedCoreType {
            // How much slower is measured, not assumed: see the GEMM rows of Benchmarks/RESULTS.md.
            print("             note: OpenBLAS runs its \(OpenBLASKernels.coreName) kernels, older than this CPU, whose "
                  + "GEMM is several times slower; OPENBLAS_CORETYPE=\(better) selects the fast ones (loom sets it "
                  + "and restarts itself when OPENBLAS_CORETYPE is unset)")
        }
        do {
            let devices = try OpenCLBackend.devices()
            var platform = -1
            for d in devices {
                if d.platformIndex != platform {
                    platform = d.platformIndex
                    print("platform \(platform): \(d.platformName) (\(d.platformVendor), \(d.platformVersion))")
                }
                print("""
                  \(d.selector)  \(d.name)
                      vendor \(d.vendor), type \(d.type), \(d.computeUnits) compute units
                      global memory \(formatBytes(d.globalMemoryBytes)), max allocation \(formatBytes(d.maxAllocationBytes)), \
                local memory \(formatBytes(d.localMemoryBytes)), max work-group \(d.maxWorkGroupSize)
                      \(d.openCLCVersion), device \(d.deviceVersion), driver \(d.driverVersion)\(d.supportsDouble ? ", fp64" : "")
                """)
            }
        } catch let error as OpenCLError {
            print("opencl       none: \(error)")
        }
        if let device {
            let selected = try DeviceSelection.open(try DeviceRequest(parsing: device))
            print(selected.explanation)
        }
    }
}

func formatBytes(_ bytes: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}
