import LoomCore
import LoomKernels

/// Convolution and pooling kernels (`Kernels/conv.cl`), one work-item per element written.
extension OpenCLBackend {
    private func geometryArgs(_ g: ConvGeometry) -> [Arg] {
        [g.batch, g.height, g.width, g.channels, g.kernelHeight, g.kernelWidth, g.stride, g.padding,
         g.outputHeight, g.outputWidth].map { .int($0) }
    }

    public func im2col(_ input: Tensor, _ g: ConvGeometry, into columns: Tensor) throws {
        try Check.owned("im2col", by: self, input, columns)
        try Check.im2col("im2col", image: input, columns: columns, g)
        try Check.fitsInt32("im2col", input, columns)
        try launch(.convolution, "im2col", global: columns.count, [.tensor(input), .tensor(columns)] + geometryArgs(g))
    }

    public func col2im(_ columns: Tensor, _ g: ConvGeometry, into gradInput: Tensor) throws {
        try Check.owned("col2im", by: self, columns, gradInput)
        try Check.im2col("col2im", image: gradInput, columns: columns, g)
        try Check.fitsInt32("col2im", gradInput, columns)
        try launch(.convolution, "col2im", global: gradInput.count, [.tensor(columns), .tensor(gradInput)] + geometryArgs(g))
    }

    public func relu(_ x: Tensor, into out: Tensor) throws {
        try Check.owned("relu", by: self, x, out)
        let n = try Check.elementwise("relu", x, out)
        try Check.fitsInt32("relu", x, out)
        try launch(.elementwise, "relu_f32", global: n, [.tensor(x), .tensor(out), .int(n)])
    }

    public func reluBackward(output y: Tensor, gradOutput: Tensor, into gradInput: Tensor) throws {
        try Check.owned("reluBackward", by: self, y, gradOutput, gradInput)
        let n = try Check.elementwise("reluBackward", y, gradOutput, gradInput)
        try Check.fitsInt32("reluBackward", y, gradOutput, gradInput)
        try launch(.elementwise, "relu_backward", global: n,
                   [.tensor(y), .tensor(gradOutput), .tensor(gradInput), .int(n)])
    }

    public func maxPool(_ input: Tensor, _ g: ConvGeometry, into output: Tensor, argmax: Tensor) throws {
        try Check.owned("maxPool", by: self, input, output, argmax)
        try Check.maxPool("maxPool", input: input, output: output, argmax: argmax, g)
        try Check.fitsInt32("maxPool", input, output, argmax)
        try launch(.convolution, "max_pool", global: output.count,
                   [.tensor(input), .tensor(output), .tensor(argmax)] + geometryArgs(g))
    }

    public func maxPoolBackward(_ gradOutput: Tensor, argmax: Tensor, _ g: ConvGeometry, into gradInput: Tensor) throws {
        try Check.owned("maxPoolBackward", by: self, gradOutput, argmax, gradInput)
        try Check.maxPool("maxPoolBackward", input: gradInput, output: gradOutput, argmax: argmax, g)
        try Check.fitsInt32("maxPoolBackward", gradOutput, argmax, gradInput)
        try launch(.convolution, "max_pool_backward", global: gradInput.count,
                   [.tensor(gradOutput), .tensor(argmax), .tensor(gradInput)] + geometryArgs(g))
    }
}
