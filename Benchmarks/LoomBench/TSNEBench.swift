import ArgumentParser
import Foundation
import Loom

struct TSNERow: Codable {
    var points: Int
    var dimension: Int
    var method: String
    var backend: String
    var seconds: Double?
    var divergence: Double?
    var iterations: Int
    var note: String?
}

struct TSNEBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tsne",
        abstract: "t-SNE at N = 400, 2000, 10000: seconds and final KL divergence of each method on each backend.",
        discussion: """
        The vectors are the first N of a word2vec file (--vectors), L2-normalised, as `loom tsne` uses them; \
        without one, clustered synthetic data (20 Gaussian clusters in 128-D). Settings are Loom's defaults \
        (scikit-learn's and openTSNE's): compare with Benchmarks/baselines/tsne_baseline.py on the same file. \
        The exact method runs on every backend (on devices other than GPUs only up to --exact-limit points); \
        Barnes-Hut runs on the host.
        """)

    @Option(help: "word2vec vectors file (default: synthetic clustered data of dimension 128).")
    var vectors: String?
    @Option(help: "Leave out the first N words of the file.")
    var skip = 0
    @Option(help: "Sizes N, comma-separated.")
    var sizes = "400,2000,10000"
    @Option(help: "Methods, comma-separated: exact, barnes-hut.")
    var methods = "exact,barnes-hut"
    @Option(help: "Backends for the exact method, comma-separated: all, cpu, opencl, opencl:P:D.")
    var devices = "all"
    @Option(help: "Host threads (default: one per core).")
    var threads: Int?
    @Option(help: "Iterations per run.")
    var iterations = 1000
    @Option(help: "Largest N for the exact method on a device that is not a GPU (O(N²) per iteration).")
    var exactLimit = 2000
    @Option(help: "Also write the rows as JSON to this file.")
    var json: String?

    func run() throws {
        let ns = sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !ns.isEmpty, ns.allSatisfy({ $0 >= 4 }) else { throw ValidationError("--sizes: numbers of at least 4") }
        let chosen = methods.split(separator: ",").map(String.init)
        let methodList = try chosen.map { name -> TSNEConfiguration.Method in
            guard let m = TSNEConfiguration.Method(rawValue: name), m != .auto else {
                throw ValidationError("unknown method '\(name)': use exact or barnes-hut")
            }
            return m
        }
        let (data, dimension, source) = try loadData(count: ns.max()!)
        let backends = try openBackends(devices, threads: threads, profiling: false)
        let hostThreads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        var rows: [TSNERow] = []
        for n in ns {
            guard n <= data.count / dimension else {
                rows.append(TSNERow(points: n, dimension: dimension, method: "-", backend: "-", iterations: 0,
                                    note: "skipped: the data holds \(data.count / dimension) vectors"))
                continue
            }
            let points = Array(data[0..<(n * dimension)])
            for method in methodList {
                let targets: [(any Backend, String)] = method == .barnesHut
                    ? [(backends[0], "host, \(hostThreads) thread\(hostThreads == 1 ? "" : "s")")]
                    : backends.map { ($0, $0.name) }
                for (backend, label) in targets {
                    if method == .exact && !backend.isGPU && n > exactLimit {
                        rows.append(TSNERow(points: n, dimension: dimension, method: method.rawValue, backend: label,
                                            iterations: 0, note: "skipped: exact above \(exactLimit) points off a GPU"))
                        continue
                    }
                    var config = TSNEConfiguration()
                    config.method = method
                    config.iterations = iterations
                    config.threads = threads
                    let result = try TSNE(config).fit(points: points, count: n, dimension: dimension, backend: backend)
                    let row = TSNERow(points: n, dimension: dimension, method: method.rawValue, backend: label,
                                      seconds: result.seconds, divergence: result.divergence,
                                      iterations: result.iterations, note: nil)
                    rows.append(row)
                    FileHandle.standardError.write(Data(String(format: "N=%d %@ on %@: %.2f s, KL %.4f\n", n,
                                                                method.rawValue, label, result.seconds,
                                                                result.divergence).utf8))
                }
            }
        }
        print("data: \(source); \(iterations) iterations; "
                  + backends.map { "\($0.name) = \($0.deviceDescription)" }.joined(separator: "; "))
        let header = ["N", "method", "backend", "seconds", "KL"]
        let cells = rows.map { r in
            [String(r.points), r.method, r.backend, r.seconds.map { String(format: "%.2f", $0) } ?? "–",
             r.divergence.map { String(format: "%.4f", $0) } ?? (r.note ?? "–")]
        }
        let widths = header.indices.map { i in ([header[i]] + cells.map { $0[i] }).map(\.count).max()! }
        for c in [header] + cells {
            print(c.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  "))
        }
        if let json { try writeJSON(rows, to: json) }
    }

    /// `(points, dimension, description)`: the first `count` vectors after `--skip`, or synthetic data.
    func loadData(count: Int) throws -> ([Float], Int, String) {
        if let vectors {
            let v = try WordVectors.load(from: URL(fileURLWithPath: vectors))
            guard skip < v.count else { throw ValidationError("\(vectors) holds \(v.count) words; --skip \(skip) leaves none") }
            let n = min(count, v.count - skip)
            let slice = Array(v.vectors[(skip * v.dimension)..<((skip + n) * v.dimension)])
            return (slice, v.dimension, "first \(n) word vectors of \(vectors) after skipping \(skip) (dimension \(v.dimension))")
        }
        // 20 Gaussian clusters in 128-D with spreads from 0.5 to 1.5 around centres of norm 6.
        let d = 128, clusters = 20
        var rng = SeededGenerator(seed: 2026)
        let centres = (0..<clusters).map { _ in (0..<d).map { _ in 6 / Double(d).squareRoot() * rng.nextGaussian() } }
        var data = [Float](repeating: 0, count: count * d)
        for i in 0..<count {
            let c = Int(rng.next() % UInt64(clusters))
            let spread = 0.5 + Double(c) / Double(clusters - 1)
            for j in 0..<d { data[i * d + j] = Float(centres[c][j] + spread / Double(d).squareRoot() * rng.nextGaussian()) }
        }
        return (data, d, "synthetic: \(count) points from 20 Gaussian clusters in 128-D (no --vectors given)")
    }
}
