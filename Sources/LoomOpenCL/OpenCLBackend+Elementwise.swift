import LoomCore
import LoomKernels

extension OpenCLBackend {
    /// Launches an elementwise kernel `(in…, out, n)` after the usual checks.
    private func elementwise(_ op: String, _ kernel: String, _ inputs: [Tensor], _ out: Tensor,
                             scalars: [Arg] = []) throws {
        for t in inputs + [out] {
            try Check.owned(op, by: self, t)
            try Check.dtype(op, t, .float32)
            try Check.sameCount(op, t, out)
            try Check.fitsInt32(op, t)
        }
        try launch(.elementwise, kernel, global: out.count,
                   scalars + inputs.map(Arg.tensor) + [.tensor(out), .int(out.count)])
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
        try Check.float("scale", x)
        try Check.fitsInt32("scale", x)
        try launch(.elementwise, "scale_f32", global: x.count, [.tensor(x), .float(factor), .int(x.count)])
    }

    public func addRowVector(_ vector: Tensor, to x: Tensor) throws {
        try Check.owned("addRowVector", by: self, vector, x)
        try Check.float("addRowVector", vector, x)
        let (rows, cols) = try Check.matrix("addRowVector", "x", x)
        try Check.count("addRowVector", "vector", vector, cols)
        try Check.fitsInt32("addRowVector", x)
        try launch(.elementwise, "add_row_vector", global: x.count,
                   [.tensor(vector), .tensor(x), .int(rows), .int(cols)])
    }

    public func sumRows(_ x: Tensor, into out: Tensor, accumulate: Bool) throws {
        try Check.owned("sumRows", by: self, x, out)
        try Check.float("sumRows", x, out)
        let (rows, cols) = try Check.matrix("sumRows", "x", x)
        try Check.count("sumRows", "out", out, cols)
        try Check.fitsInt32("sumRows", x)
        if rows == 0 {
            if !accumulate { try fill(out, value: 0) }
            return
        }
        try launch(.elementwise, "sum_rows", global: cols,
                   [.tensor(x), .tensor(out), .int(rows), .int(cols), .int(accumulate ? 1 : 0)])
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
