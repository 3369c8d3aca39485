// Operand checks of the t-SNE ops (see `Check`).

extension Check {
    /// `tsnePairForces`: y `(N, 2)` float, p `(N, N)` float, forces `(N, 4)` float, stats
    /// `(N, 3)` float. Returns N.
    package static func tsnePairForces(_ y: Tensor, p: Tensor, forces: Tensor, stats: Tensor) throws -> Int {
        let op = "tsnePairForces"
        try float(op, y, p, forces, stats)
        let (n, c) = try matrix(op, "y", y)
        guard c == 2 else { throw LoomError.shapeMismatch(op: op, detail: "y must be (N, 2), got \(y.shape)") }
        try shape(op, "p", p, [n, n])
        try shape(op, "forces", forces, [n, 4])
        try shape(op, "stats", stats, [n, 3])
        return n
    }

    /// `tsneGradient`: forces `(N, 4)` float, stats `(N, 3)` float, gradient `(N, 2)` float,
    /// divergence `(1)` float. Returns N.
    package static func tsneGradient(forces: Tensor, stats: Tensor, gradient: Tensor, divergence: Tensor) throws -> Int {
        let op = "tsneGradient"
        try float(op, forces, stats, gradient, divergence)
        let (n, c) = try matrix(op, "forces", forces)
        guard c == 4 else { throw LoomError.shapeMismatch(op: op, detail: "forces must be (N, 4), got \(forces.shape)") }
        try shape(op, "stats", stats, [n, 3])
        try shape(op, "gradient", gradient, [n, 2])
        try count(op, "divergence", divergence, 1)
        return n
    }

    /// `tsneUpdate`: y, gradient, velocity, gains float of the same count N (any shapes).
    /// Returns N.
    package static func tsneUpdate(_ y: Tensor, gradient: Tensor, velocity: Tensor, gains: Tensor) throws -> Int {
        try elementwise("tsneUpdate", y, gradient, velocity, gains)
    }
}
