// Operand checks of the convolution and pooling ops (see `Check`; `relu` and `reluBackward` are
// elementwise).

extension Check {
    /// A geometry that makes sense: positive sizes (the batch may be 0), stride ≥ 1, padding
    /// smaller than the window, and a window that fits the padded image (`invalidArgument`
    /// otherwise).
    package static func geometry(_ op: String, _ g: ConvGeometry) throws {
        guard g.batch >= 0, g.height > 0, g.width > 0, g.channels > 0, g.kernelHeight > 0, g.kernelWidth > 0,
              g.stride > 0, g.padding >= 0 else {
            throw LoomError.invalidArgument("\(op): bad geometry \(g)")
        }
        guard g.height + 2 * g.padding >= g.kernelHeight, g.width + 2 * g.padding >= g.kernelWidth else {
            throw LoomError.invalidArgument("\(op): a \(g.kernelHeight)×\(g.kernelWidth) window does not fit \(g)")
        }
        guard g.padding < g.kernelHeight, g.padding < g.kernelWidth else {
            throw LoomError.invalidArgument("\(op): padding \(g.padding) must be smaller than the window (\(g))")
        }
    }

    /// `im2col` / `col2im`: a geometry that makes sense, an image float of `N·H·W·C` elements
    /// (any shape), columns `(N·OH·OW, KH·KW·C)` float.
    package static func im2col(_ op: String, image: Tensor, columns: Tensor, _ g: ConvGeometry) throws {
        try geometry(op, g)
        try float(op, image, columns)
        try count(op, "image", image, g.inputCount)
        try shape(op, "columns", columns, [g.outputPixels, g.patch])
    }

    /// `maxPool` / `maxPoolBackward`: a geometry that makes sense, input float `N·H·W·C` (in the
    /// backward pass: gradInput), output float `N·OH·OW·C` (gradOutput), argmax int32 `N·OH·OW·C`
    /// (any shapes of those counts); the input must fit int32 flat indices. Argmax values come from
    /// `maxPool` and are not range-checked: the CPU's scatter skips an index outside its image,
    /// OpenCL's kernel only ever matches indices inside the window.
    package static func maxPool(_ op: String, input: Tensor, output: Tensor, argmax: Tensor, _ g: ConvGeometry) throws {
        try geometry(op, g)
        try float(op, input, output)
        try dtype(op, argmax, .int32)
        try count(op, "input", input, g.inputCount)
        try count(op, "output", output, g.outputPixels * g.channels)
        try count(op, "argmax", argmax, g.outputPixels * g.channels)
        guard g.inputCount <= Int(Int32.max) else {
            throw LoomError.invalidArgument("\(op): \(g.inputCount) input elements do not fit the int32 argmax (split the batch)")
        }
    }
}
