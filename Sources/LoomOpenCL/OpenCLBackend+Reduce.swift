import LoomCore
import LoomKernels

extension OpenCLBackend {
    public func sumOfSquares(_ x: Tensor, into result: Tensor, accumulate: Bool) throws {
        try reduce("sumOfSquares", x, result, accumulate, square: true)
    }

    public func sum(_ x: Tensor, into result: Tensor, accumulate: Bool) throws {
        try reduce("sum", x, result, accumulate, square: false)
    }

    /// Two stages: each work-group reduces a strided share into `partials`, then one group adds
    /// the partials into `result`.
    private func reduce(_ op: String, _ x: Tensor, _ result: Tensor, _ accumulate: Bool, square: Bool) throws {
        try Check.owned(op, by: self, x, result)
        _ = try Check.reduction(op, x, result: result)
        try Check.fitsInt32(op, x, result)
        let partialKernel = try kernel(.reduce, "reduce_partial")
        let group = powerOfTwoGroup(partialKernel)
        let groups = max(1, min(Self.maxReductionGroups, (x.count + group - 1) / group))
        let partialsView = Tensor(storage: partials, shape: [Self.maxReductionGroups], dtype: .float32)
        if x.count > 0 {
            try launch(.reduce, "reduce_partial", global: groups * group, local: group,
                       [.tensor(x), .int(x.count), .int(square ? 1 : 0), .tensor(partialsView), .local(4 * group)])
        }
        let finalGroup = powerOfTwoGroup(try kernel(.reduce, "reduce_final"))
        try launch(.reduce, "reduce_final", global: finalGroup, local: finalGroup,
                   [.tensor(partialsView), .int(x.count > 0 ? groups : 0), .tensor(result), .int(accumulate ? 1 : 0),
                    .local(4 * finalGroup)])
    }

    public func clipByGlobalNorm(_ x: Tensor, sumOfSquares: Tensor, maxNorm: Float) throws {
        try Check.owned("clipByGlobalNorm", by: self, x, sumOfSquares)
        let n = try Check.clipByGlobalNorm(x, sumOfSquares: sumOfSquares, maxNorm: maxNorm)
        try Check.fitsInt32("clipByGlobalNorm", x, sumOfSquares)
        try launch(.reduce, "clip_by_global_norm", global: n,
                   [.tensor(x), .int(n), .tensor(sumOfSquares), .float(maxNorm)])
    }
}
