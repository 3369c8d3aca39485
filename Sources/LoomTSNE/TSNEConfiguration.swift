import LoomCore

/// Everything that defines a t-SNE run. The defaults are those of the common implementations
/// (scikit-learn, openTSNE): perplexity 30, early exaggeration 12 for the first 250 iterations,
/// momentum 0.5 then 0.8, PCA start scaled to standard deviation 1e-4, 1000 iterations.
public struct TSNEConfiguration: Equatable, Sendable {
    /// How the gradient is computed.
    public enum Method: String, Equatable, Sendable, CaseIterable, CustomStringConvertible {
        /// Exact on a GPU up to `exactLimitOnGPU` points, exact on any other device up to
        /// `exactLimitElsewhere`, else Barnes-Hut on the host.
        case auto
        /// The O(N²) gradient over all pairs, as `Backend` ops on the given device.
        case exact
        /// Barnes-Hut with a quadtree rebuilt every iteration (O(N log N)), on the host's cores.
        case barnesHut = "barnes-hut"

        public var description: String { rawValue }
    }

    /// How the embedding starts.
    public enum Initialization: String, Equatable, Sendable, CaseIterable {
        /// The first two principal components, scaled so the first has standard deviation 1e-4
        /// (scikit-learn ≥ 1.2, openTSNE).
        case pca
        /// Gaussian with standard deviation 1e-4, from `seed`.
        case random
    }

    /// Effective number of neighbours each point's Gaussian is calibrated to.
    public var perplexity: Double = 30
    /// Gradient steps in all, early exaggeration included.
    public var iterations = 1000
    /// Factor on P during the first `exaggerationIterations` steps.
    public var earlyExaggeration: Float = 12
    public var exaggerationIterations = 250
    /// Momentum during early exaggeration, then after it.
    public var initialMomentum: Float = 0.5
    public var finalMomentum: Float = 0.8
    /// Step size; nil is "auto": `max(N / 12, 200)`, openTSNE's rule (Belkina et al. 2019).
    /// scikit-learn ≥ 1.2 uses `max(N / earlyExaggeration / 4, 50)` instead, 4× smaller.
    public var learningRate: Float?
    /// Smallest adaptive gain (scikit-learn's `min_gain`).
    public var minGain: Float = 0.01
    public var method: Method = .auto
    /// Barnes-Hut accuracy: a cell of side s at distance d is summarised when s / d < θ.
    public var theta: Float = 0.5
    public var initialization: Initialization = .pca
    /// Divide each vector by its Euclidean norm first (word vectors are compared by angle).
    public var normalize = true
    /// Seed of the random start (and of PCA's starting subspace).
    public var seed: UInt64 = 1
    /// Iterations between KL divergence reports (the KL costs a logarithm per pair).
    public var reportEvery = 50
    /// Threads of the host computations (neighbours, affinities, Barnes-Hut); nil: one per core.
    public var threads: Int?
    /// The exact method builds P over all pairs up to this N (as scikit-learn's exact method);
    /// above it, and always for Barnes-Hut, over the `3·perplexity + 1` nearest neighbours.
    public var allPairsAffinityLimit = 5000
    /// `auto` picks the exact method up to this N on a GPU…
    public var exactLimitOnGPU = 20_000
    /// …and up to this N on any other device (a CPU is faster with Barnes-Hut above it).
    public var exactLimitElsewhere = 1000

    public init() {}

    /// The learning rate used for `count` points.
    public func learningRate(for count: Int) -> Float {
        learningRate ?? max(Float(count) / 12, 200)
    }

    /// The method `auto` resolves to for `count` points on `backend`.
    public func resolvedMethod(count: Int, backend: any Backend) -> Method {
        switch method {
        case .exact, .barnesHut: return method
        case .auto:
            let limit = backend.isGPU ? exactLimitOnGPU : exactLimitElsewhere
            return count <= limit ? .exact : .barnesHut
        }
    }

    /// Checks the values a person could get wrong.
    public func validate() throws {
        func bad(_ text: String) -> LoomError { .invalidArgument("t-SNE: \(text)") }
        guard perplexity.isFinite, perplexity >= 1 else { throw bad("perplexity must be at least 1, got \(perplexity)") }
        guard iterations >= 1 else { throw bad("iterations must be at least 1, got \(iterations)") }
        guard exaggerationIterations >= 0 else { throw bad("exaggeration iterations must not be negative") }
        guard earlyExaggeration.isFinite, earlyExaggeration > 0 else {
            throw bad("early exaggeration must be positive, got \(earlyExaggeration)")
        }
        if let learningRate, !(learningRate.isFinite && learningRate > 0) {
            throw bad("learning rate must be positive, got \(learningRate)")
        }
        for (name, m) in [("initial", initialMomentum), ("final", finalMomentum)] where !(m >= 0 && m < 1) {
            throw bad("\(name) momentum must lie in [0, 1), got \(m)")
        }
        guard minGain.isFinite, minGain >= 0 else { throw bad("minimum gain must not be negative") }
        guard theta.isFinite, theta >= 0 else { throw bad("theta must not be negative, got \(theta)") }
        guard reportEvery >= 1 else { throw bad("report interval must be at least 1") }
        if let threads, threads < 1 { throw bad("threads must be at least 1") }
    }
}

/// What `TSNE` reports every `reportEvery` iterations.
public struct TSNEProgress: Sendable {
    /// Iterations done.
    public var iteration: Int
    public var totalIterations: Int
    /// KL(P ‖ Q) of the embedding before this iteration's step, with the un-exaggerated P (also
    /// during early exaggeration, where scikit-learn prints the exaggerated one).
    public var divergence: Double
    /// Whether P is still exaggerated.
    public var exaggerating: Bool
    /// Seconds since `fit` started (affinities included).
    public var elapsedSeconds: Double
}

/// The outcome of `TSNE.fit`.
public struct TSNEResult: Sendable {
    /// `(N, 2)` row-major: point i at `(coordinates[2i], coordinates[2i + 1])`.
    public var coordinates: [Float]
    /// KL(P ‖ Q) of the final coordinates.
    public var divergence: Double
    public var iterations: Int
    /// Wall time of the whole fit: affinities, start, descent.
    public var seconds: Double
    /// The method that ran (never `auto`).
    public var method: TSNEConfiguration.Method
    /// The perplexity used (lower than asked for when there were too few points).
    public var perplexity: Double
    /// The learning rate used.
    public var learningRate: Float
    /// Things a person should know (a lowered perplexity, a random start instead of PCA).
    public var notices: [String]
}
