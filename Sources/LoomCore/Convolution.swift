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
