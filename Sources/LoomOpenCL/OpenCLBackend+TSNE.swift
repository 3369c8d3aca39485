import LoomCore
import LoomKernels

extension OpenCLBackend {
    public var isGPU: Bool { info.isGPU }

    public func tsnePairForces(_ y: Tensor, p: Tensor, forces: Tensor, stats: Tensor, divergence: Bool) throws {
        let op = "tsnePairForces"
        try Check.owned(op, by: self, y, p, forces, stats)
        let n = try Check.tsnePairForces(y, p: p, forces: forces, stats: stats)
        try Check.fitsInt32(op, y, p, forces, stats)
        guard n > 0 else { return }
        // One work-group per point; small problems get small groups.
        let group = powerOfTwoGroup(try kernel(.tsne, "tsne_pair_forces"), cap: max(16, min(256, n)))
        try launchRows(.tsne, "tsne_pair_forces", rows: n, groupSize: group,
                       [.tensor(y), .tensor(p), .tensor(forces), .tensor(stats), .int(n), .int(divergence ? 1 : 0),
                        .local(32 * group)])
    }

    public func tsneGradient(forces: Tensor, stats: Tensor, exaggeration: Float, gradient: Tensor,
                             divergence: Tensor) throws {
        let op = "tsneGradient"
        try Check.owned(op, by: self, forces, stats, gradient, divergence)
        let n = try Check.tsneGradient(forces: forces, stats: stats, gradient: gradient, divergence: divergence)
        try Check.fitsInt32(op, forces, stats, gradient, divergence)
        // Z goes to the first element of the reduction scratch; the queue is in order, so the
        // gradient kernel reads it before any later op reuses the scratch.
        let totals = Tensor(storage: partials, shape: [1], dtype: .float32)
        let group = powerOfTwoGroup(try kernel(.tsne, "tsne_totals"))
        try launch(.tsne, "tsne_totals", global: group, local: group,
                   [.tensor(stats), .int(n), .tensor(totals), .tensor(divergence), .local(32 * group)])
        try launch(.tsne, "tsne_gradient", global: n,
                   [.tensor(forces), .tensor(totals), .tensor(gradient), .int(n), .float(exaggeration)])
    }

    public func tsneUpdate(_ y: Tensor, gradient: Tensor, velocity: Tensor, gains: Tensor, learningRate: Float,
                           momentum: Float, minGain: Float) throws {
        let op = "tsneUpdate"
        try Check.owned(op, by: self, y, gradient, velocity, gains)
        let n = try Check.tsneUpdate(y, gradient: gradient, velocity: velocity, gains: gains)
        try Check.fitsInt32(op, y, gradient, velocity, gains)
        try launch(.tsne, "tsne_update", global: n,
                   [.tensor(y), .tensor(gradient), .tensor(velocity), .tensor(gains), .int(n),
                    .float(learningRate), .float(momentum), .float(minGain)])
    }
}
