/// The geometry of a 2-D convolution or pooling window sliding over a batch of images.
///
/// Images are **NHWC** — `(N, H, W, C)`, channels innermost. With that layout a convolution is
/// one GEMM for the whole batch: `im2col` writes each output pixel's receptive field as a row of
/// `(N·OH·OW, KH·KW·C)`, that times the weights `(KH·KW·C, F)` is the output `(N·OH·OW, F)` —
/// already NHWC for the next layer — and the per-channel bias is `addRowVector` over its rows
/// (its gradient `sumRows`). NCHW would need one GEMM per image or a transpose per layer.
public struct ConvGeometry: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var batch, height, width, channels: Int
    public var kernelHeight, kernelWidth: Int
    public var stride: Int
    /// Zero padding (convolution) or ignored border (pooling) on every side.
    public var padding: Int

    public init(batch: Int, height: Int, width: Int, channels: Int, kernelHeight: Int, kernelWidth: Int,
                stride: Int = 1, padding: Int = 0) {
        self.batch = batch
        self.height = height
        self.width = width
        self.channels = channels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
    }

    /// A square `kernel × kernel` window.
    public init(batch: Int, height: Int, width: Int, channels: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
        self.init(batch: batch, height: height, width: width, channels: channels, kernelHeight: kernel,
                  kernelWidth: kernel, stride: stride, padding: padding)
    }

    public var outputHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    public var outputWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    /// Elements of the input `N·H·W·C`.
    public var inputCount: Int { batch * height * width * channels }
    /// Output pixels over the batch, `N·OH·OW`: the rows of `im2col`'s matrix.
    public var outputPixels: Int { batch * outputHeight * outputWidth }
    /// One receptive field, `KH·KW·C`: the columns of `im2col`'s matrix.
    public var patch: Int { kernelHeight * kernelWidth * channels }

    public var description: String {
        "\(batch)×\(height)×\(width)×\(channels), window \(kernelHeight)×\(kernelWidth), stride \(stride), padding \(padding)"
    }
}

extension Check {
    /// A geometry that makes sense: positive sizes, a window that fits the padded image.
    public static func geometry(_ op: String, _ g: ConvGeometry) throws {
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

    /// `im2col` / `col2im` operands: an image tensor of `N·H·W·C` elements and a column matrix
    /// `(N·OH·OW, KH·KW·C)`.
    public static func im2col(_ op: String, image: Tensor, columns: Tensor, _ g: ConvGeometry) throws {
        try geometry(op, g)
        try float(op, image, columns)
        try count(op, "image", image, g.inputCount)
        try shape(op, "columns", columns, [g.outputPixels, g.patch])
    }

    /// `maxPool` operands: input `N·H·W·C`, output `N·OH·OW·C`, argmax int32 like the output.
    public static func maxPool(_ op: String, input: Tensor, output: Tensor, argmax: Tensor, _ g: ConvGeometry) throws {
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
