import LoomCore
import LoomKernels

extension OpenCLBackend {
    /// Launches an elementwise kernel `(in…, out, n)` after the usual checks.
    private func elementwise(_ op: String, _ kernel: String, _ inputs: [Tensor], _ out: Tensor,
                             scalars: [Arg] = []) throws {
        let tensors = inputs + [out]
        try Check.owned(op, by: self, tensors)
        let n = try Check.elementwise(op, tensors)
        try Check.fitsInt32(op, tensors)
        try launch(.elementwise, kernel, global: n, scalars + inputs.map(Arg.tensor) + [.tensor(out), .int(n)])
    }

    public func add(_ a: Tensor, _ b: Tensor, into out: Tensor) throws {
        try elementwise("add", "add_f32", [a, b], out)
    }

    public func multiply(_ a: Tensor, _ b: Tensor, into out: Tensor) throws {
        try elementwise("multiply", "multiply_f32", [a, b], out)
    }

    public func axpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws {
        try elementwise("axpy", "axpy_f32", [x], y, scalars: [.float(alpha)])
    }

    public func scale(_ x: Tensor, by factor: Float) throws {
        try Check.owned("scale", by: self, x)
        let n = try Check.elementwise("scale", x)
        try Check.fitsInt32("scale", x)
        try launch(.elementwise, "scale_f32", global: n, [.tensor(x), .float(factor), .int(n)])
    }

    public func addRowVector(_ vector: Tensor, to x: Tensor) throws {
        try Check.owned("addRowVector", by: self, vector, x)
        let s = try Check.addRowVector(vector, x: x)
        try Check.fitsInt32("addRowVector", vector, x)
        try launch(.elementwise, "add_row_vector", global: x.count,
                   [.tensor(vector), .tensor(x), .int(s.rows), .int(s.columns)])
    }

    public func sumRows(_ x: Tensor, into out: Tensor, accumulate: Bool) throws {
        try Check.owned("sumRows", by: self, x, out)
        let s = try Check.sumRows(x, out: out)
        try Check.fitsInt32("sumRows", x, out)
        if s.rows == 0 {
            if !accumulate { try fill(out, value: 0) }
            return
        }
        try launch(.elementwise, "sum_rows", global: s.columns,
                   [.tensor(x), .tensor(out), .int(s.rows), .int(s.columns), .int(accumulate ? 1 : 0)])
    }

    public func sigmoid(_ x: Tensor, into out: Tensor) throws {
        try elementwise("sigmoid", "sigmoid_f32", [x], out)
    }

    public func tanh(_ x: Tensor, into out: Tensor) throws {
        try elementwise("tanh", "tanh_f32", [x], out)
    }

    public func sigmoidBackward(output y: Tensor, gradOutput: Tensor, into gradInput: Tensor) throws {
        try elementwise("sigmoidBackward", "sigmoid_backward", [y, gradOutput], gradInput)
    }

    public func tanhBackward(output y: Tensor, gradOutput: Tensor, into gradInput: Tensor) throws {
        try elementwise("tanhBackward", "tanh_backward", [y, gradOutput], gradInput)
    }
}
