import LoomCore

extension CPUBackend {
    public func sumOfSquares(_ x: Tensor, into result: Tensor, accumulate: Bool) throws {
        try reduce("sumOfSquares", x, result, accumulate) { Vector.sumOfSquares($0, $1) }
    }

    public func sum(_ x: Tensor, into result: Tensor, accumulate: Bool) throws {
        try reduce("sum", x, result, accumulate) { Vector.sum($0, $1) }
    }

    /// `result[0] (+)= Σ part(x, chunk)` with per-thread Double partials.
    private func reduce(_ op: String, _ x: Tensor, _ result: Tensor, _ accumulate: Bool,
                        _ part: @escaping (UnsafePointer<Float>, Range<Int>) -> Double) throws {
        try Check.owned(op, by: self, x, result)
        let n = try Check.reduction(op, x, result: result)
        let px = f(x)
        let chunks = max(1, min(threads, n / 65_536))
        var partials = [Double](repeating: 0, count: chunks)
        partials.withUnsafeMutableBufferPointer { out in
            let o = out.baseAddress!
            parallelFor(chunks, grain: 1) { r in
                for c in r { o[c] = part(px, (x.count * c / chunks)..<(x.count * (c + 1) / chunks)) }
            }
        }
        let r = f(result)
        r[0] = Float((accumulate ? Double(r[0]) : 0) + partials.reduce(0, +))
    }

    public func clipByGlobalNorm(_ x: Tensor, sumOfSquares: Tensor, maxNorm: Float) throws {
        try Check.owned("clipByGlobalNorm", by: self, x, sumOfSquares)
        _ = try Check.clipByGlobalNorm(x, sumOfSquares: sumOfSquares, maxNorm: maxNorm)
        let norm = f(sumOfSquares)[0].squareRoot()
        if norm > maxNorm { try scale(x, by: maxNorm / norm) }
    }
}
