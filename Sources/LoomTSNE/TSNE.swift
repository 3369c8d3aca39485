import Foundation
import LoomCore

/// t-distributed stochastic neighbour embedding (van der Maaten & Hinton 2008) of N points in D
/// dimensions to 2, as scikit-learn and openTSNE compute it.
///
/// Data flow: points → (optional) L2 normalisation → affinities P (perplexity calibration per
/// point, symmetrised; all pairs or nearest neighbours) → PCA start → gradient descent with
/// early exaggeration, momentum and adaptive gains → coordinates and KL(P ‖ Q).
///
/// The exact method runs every iteration as `Backend` ops (`tsnePairForces`, `tsneGradient`,
/// `tsneUpdate`) on the device; only the KL divergence comes back, every `reportEvery`
/// iterations. Barnes-Hut runs on the host's cores.
///
/// ```swift
/// let tsne = TSNE(TSNEConfiguration())
/// tsne.onProgress = { print($0.iteration, $0.divergence) }
/// let result = try tsne.fit(points: vectors, count: n, dimension: d, backend: backend)
/// ```
public final class TSNE {
    public var configuration: TSNEConfiguration
    /// Called every `reportEvery` iterations, on the calling thread.
    public var onProgress: ((TSNEProgress) -> Void)?
    /// Called with what a person should hear before the run goes on (a lowered perplexity…);
    /// the same sentences end up in `TSNEResult.notices`.
    public var onNotice: ((String) -> Void)?

    public init(_ configuration: TSNEConfiguration = TSNEConfiguration()) {
        self.configuration = configuration
    }

    /// The perplexity used for `count` points, and the sentence saying why when it is lowered:
    /// t-SNE needs more than `3·perplexity` neighbours per point.
    public func effectivePerplexity(count n: Int) -> (perplexity: Double, notice: String?) {
        let asked = configuration.perplexity
        guard Double(n) < 3 * asked + 1 else { return (asked, nil) }
        let lowered = max(1, Double(n - 1) / 3)
        let notice = "only \(n) points: perplexity lowered from \(format(asked)) to \(format(lowered)) "
            + "(t-SNE needs at least 3·perplexity + 1 points)"
        return (lowered, notice)
    }

    /// Embeds `count` points of `dimension` values each.
    /// - Parameters:
    ///   - points: `(count, dimension)` row-major, finite.
    ///   - labels: optional names of the points, used in error messages.
    ///   - backend: where the exact method runs (Barnes-Hut uses the host).
    /// - Throws: `LoomError.invalidArgument` for a bad configuration or fewer than 4 points,
    ///   `LoomError.invalidData` naming the first point with a non-finite value, `LoomError.unsupported`
    ///   for an exact run too large for 32-bit indexing, and the backend's errors.
    public func fit(points: [Float], count n: Int, dimension d: Int, labels: [String]? = nil,
                    backend: any Backend) throws -> TSNEResult {
        let start = Date()
        let config = configuration
        try config.validate()
        guard d >= 1, n >= 0, points.count == n * d else {
            throw LoomError.invalidArgument("t-SNE: \(points.count) values do not make \(n) points of dimension \(d)")
        }
        guard n >= 4 else {
            throw LoomError.invalidArgument("t-SNE needs at least 4 points, got \(n)")
        }
        if let bad = points.firstIndex(where: { !$0.isFinite }) {
            let row = bad / d
            let name = labels.map { row < $0.count ? "point \(row) ('\($0[row])')" : "point \(row)" } ?? "point \(row)"
            throw LoomError.invalidData("t-SNE: \(name) has a non-finite value \(points[bad]) at position \(bad % d)")
        }
        var notices: [String] = []
        func say(_ text: String) {
            notices.append(text)
            onNotice?(text)
        }
        let (perplexity, lowered) = effectivePerplexity(count: n)
        if let lowered { say(lowered) }
        let method = config.resolvedMethod(count: n, backend: backend)
        if method == .exact && n > 46_340 {
            throw LoomError.unsupported("t-SNE: the exact method keeps P as an N×N matrix; \(n) points exceed 2^31 "
                                            + "elements (use --method barnes-hut)")
        }
        let threads = config.threads ?? ProcessInfo.processInfo.activeProcessorCount
        let data = config.normalize ? Self.normalized(points, count: n, dimension: d) : points

        let affinities = method == .exact && n <= config.allPairsAffinityLimit
            ? TSNEAffinities.allPairs(points: data, count: n, dimension: d, perplexity: perplexity, threads: threads)
            : TSNEAffinities.nearestNeighbors(points: data, count: n, dimension: d, perplexity: perplexity,
                                              threads: threads)
        var initial: [Float]
        switch config.initialization {
        case .pca:
            if let projected = PrincipalComponents.project(data, count: n, dimension: d, seed: config.seed) {
                initial = projected
            } else {
                say("the points have no spread for PCA to follow; starting from a random layout")
                initial = Self.randomStart(count: n, seed: config.seed)
            }
        case .random:
            initial = Self.randomStart(count: n, seed: config.seed)
        }

        let schedule = Schedule(config: config, count: n)
        let (coordinates, divergence): ([Float], Double)
        switch method {
        case .exact, .auto:
            (coordinates, divergence) = try descendExact(affinities, start: initial, schedule: schedule,
                                                         backend: backend, clock: start)
        case .barnesHut:
            // Barnes-Hut keeps positions as every x, then every y.
            var planar = [Float](repeating: 0, count: 2 * n)
            for i in 0..<n { planar[i] = initial[2 * i]; planar[n + i] = initial[2 * i + 1] }
            let (final, kl) = try descendBarnesHut(affinities, start: planar, schedule: schedule,
                                               threads: HostThreads(count: threads), clock: start)
            var interleaved = [Float](repeating: 0, count: 2 * n)
            for i in 0..<n { interleaved[2 * i] = final[i]; interleaved[2 * i + 1] = final[n + i] }
            (coordinates, divergence) = (interleaved, kl)
        }
        return TSNEResult(coordinates: coordinates, divergence: divergence, iterations: config.iterations,
                          seconds: Date().timeIntervalSince(start), method: method, perplexity: perplexity,
                          learningRate: schedule.learningRate, notices: notices)
    }

    // MARK: Descent

    /// Step parameters of iteration `t`, as scikit-learn's two `_gradient_descent` calls: the
    /// second (after early exaggeration) starts again from zero velocity and unit gains.
    struct Schedule {
        let iterations: Int
        let exaggerationIterations: Int
        let exaggeration: Float
        let initialMomentum: Float
        let finalMomentum: Float
        let learningRate: Float
        let minGain: Float
        let reportEvery: Int

        init(config: TSNEConfiguration, count: Int) {
            iterations = config.iterations
            exaggerationIterations = min(config.exaggerationIterations, config.iterations)
            exaggeration = config.earlyExaggeration
            initialMomentum = config.initialMomentum
            finalMomentum = config.finalMomentum
            learningRate = config.learningRate(for: count)
            minGain = config.minGain
            reportEvery = config.reportEvery
        }

        func exaggerating(_ t: Int) -> Bool { t < exaggerationIterations }
        func exaggeration(_ t: Int) -> Float { exaggerating(t) ? exaggeration : 1 }
        func momentum(_ t: Int) -> Float { exaggerating(t) ? initialMomentum : finalMomentum }
        /// Whether the optimiser state starts over before iteration `t`.
        func restarts(_ t: Int) -> Bool { t == exaggerationIterations && t > 0 }
        /// Whether iteration `t` reports its KL divergence.
        func reports(_ t: Int) -> Bool { (t + 1) % reportEvery == 0 || t == iterations - 1 }
    }

    /// Reports iteration `t`, stopping the run when the divergence is no longer a number.
    private func progress(_ t: Int, _ kl: Double, _ schedule: Schedule, _ clock: Date) throws {
        guard kl.isFinite else {
            throw LoomError.diverged(step: t + 1, value: kl, advice: "try a lower --learning-rate")
        }
        onProgress?(TSNEProgress(iteration: t + 1, totalIterations: schedule.iterations, divergence: kl,
                                 exaggerating: schedule.exaggerating(t), elapsedSeconds: Date().timeIntervalSince(clock)))
    }

    /// The exact method, every iteration on `backend`.
    private func descendExact(_ p: TSNEAffinities, start: [Float], schedule: Schedule, backend: any Backend,
                              clock: Date) throws -> ([Float], Double) {
        let n = p.count
        let matrix = try backend.allocate([n, n], dtype: .float32)
        // Upload P in blocks of rows, so a sparse P never exists densely on the host.
        let blockRows = max(1, min(n, (4 << 20) / n))
        var block = [Float](repeating: 0, count: blockRows * n)
        var first = 0
        while first < n {
            let rows = first..<min(n, first + blockRows)
            try block.withUnsafeMutableBufferPointer { b in
                p.denseRows(rows, into: b.baseAddress!)
                try backend.upload(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: b[0..<(rows.count * n)])),
                                   to: matrix.rows(rows))
            }
            first = rows.upperBound
        }
        let y = try backend.tensor(start, shape: [n, 2])
        let gradient = try backend.zeros([n, 2]), velocity = try backend.zeros([n, 2])
        let gains = try backend.allocate([n, 2], dtype: .float32)
        try backend.fill(gains, value: 1)
        let forces = try backend.allocate([n, 4], dtype: .float32)
        let stats = try backend.allocate([n, 3], dtype: .float32)
        let kl = try backend.zeros([1])
        for t in 0..<schedule.iterations {
            if schedule.restarts(t) {
                try backend.fill(velocity, value: 0)
                try backend.fill(gains, value: 1)
            }
            let report = schedule.reports(t)
            try backend.tsnePairForces(y, p: matrix, forces: forces, stats: stats, divergence: report)
            try backend.tsneGradient(forces: forces, stats: stats, exaggeration: schedule.exaggeration(t),
                                     gradient: gradient, divergence: kl)
            try backend.tsneUpdate(y, gradient: gradient, velocity: velocity, gains: gains,
                                   learningRate: schedule.learningRate, momentum: schedule.momentum(t),
                                   minGain: schedule.minGain)
            if report { try progress(t, Double(try backend.scalar(kl)), schedule, clock) }
        }
        // The divergence of the coordinates returned.
        try backend.tsnePairForces(y, p: matrix, forces: forces, stats: stats, divergence: true)
        try backend.tsneGradient(forces: forces, stats: stats, exaggeration: 1, gradient: gradient, divergence: kl)
        return (try backend.floats(y), Double(try backend.scalar(kl)))
    }

    /// Barnes-Hut on the host; positions `(2N)`, every x then every y.
    private func descendBarnesHut(_ p: TSNEAffinities, start: [Float], schedule: Schedule, threads: HostThreads,
                                  clock: Date) throws -> ([Float], Double) {
        let count = start.count
        let bh = BarnesHutGradient(affinities: p, theta: configuration.theta, threads: threads)
        var y = start
        var gradient = [Float](repeating: 0, count: count)
        var velocity = [Float](repeating: 0, count: count)
        var gains = [Float](repeating: 1, count: count)
        for t in 0..<schedule.iterations {
            if schedule.restarts(t) {
                for e in 0..<count { velocity[e] = 0; gains[e] = 1 }
            }
            let report = schedule.reports(t)
            let kl = y.withUnsafeBufferPointer { yb in
                gradient.withUnsafeMutableBufferPointer { gb in
                    bh.gradient(positions: yb.baseAddress!, exaggeration: schedule.exaggeration(t),
                                into: gb.baseAddress!, divergence: report)
                }
            }
            Self.step(&y, gradient: gradient, velocity: &velocity, gains: &gains, learningRate: schedule.learningRate,
                      momentum: schedule.momentum(t), minGain: schedule.minGain)
            if let kl { try progress(t, kl, schedule, clock) }
        }
        let final = y.withUnsafeBufferPointer { yb in
            gradient.withUnsafeMutableBufferPointer { gb in
                bh.gradient(positions: yb.baseAddress!, exaggeration: 1, into: gb.baseAddress!, divergence: true)
            }
        }
        return (y, final ?? .nan)
    }

    /// The host copy of `Backend.tsneUpdate`.
    static func step(_ y: inout [Float], gradient: [Float], velocity: inout [Float], gains: inout [Float],
                     learningRate: Float, momentum: Float, minGain: Float) {
        for e in y.indices {
            let g = gradient[e], u = velocity[e]
            let gain = max(minGain, u * g < 0 ? gains[e] + 0.2 : gains[e] * 0.8)
            gains[e] = gain
            let next = momentum * u - learningRate * gain * g
            velocity[e] = next
            y[e] += next
        }
    }

    // MARK: Inputs

    /// Each row divided by its Euclidean norm (zero rows stay zero).
    static func normalized(_ points: [Float], count n: Int, dimension d: Int) -> [Float] {
        var out = points
        out.withUnsafeMutableBufferPointer { b in
            let p = b.baseAddress!
            for i in 0..<n {
                let norm = squaredNorm(p + i * d, d).squareRoot()
                guard norm > 0 else { continue }
                let inverse = 1 / norm
                for j in 0..<d { p[i * d + j] *= inverse }
            }
        }
        return out
    }

    /// `(n, 2)` Gaussian with standard deviation 1e-4 (scikit-learn's random start).
    static func randomStart(count n: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<(2 * n)).map { _ in Float(1e-4 * rng.nextGaussian()) }
    }
}

/// A number for a message: integers without decimals, others with up to 4 significant digits.
func format(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(format: "%.4g", x)
}
