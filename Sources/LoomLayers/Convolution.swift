import LoomCore

/// A 2-D convolution over NHWC images with a per-channel bias: `im2col`, one GEMM for the whole
/// batch, `addRowVector`. The backward pass is the two GEMMs of a dense layer on the columns and
/// `col2im` for the input gradient.
///
/// Weights are `(KH·KW·C, F)`, rows ordered `(ky, kx, c)` as `im2col` writes them.
public final class Conv2D {
    public let inputChannels, filters, kernel, stride, padding: Int
    public let weight: ParameterStore.ID
    public let bias: ParameterStore.ID
    let store: ParameterStore

    /// Registers `prefix + "weight"` `(KH·KW·C, F)` (Glorot-uniform, fan-in `KH·KW·C`, fan-out `KH·KW·F`) and `prefix + "bias"`.
    public init(store: ParameterStore, prefix: String, inputChannels: Int, filters: Int, kernel: Int = 3,
                stride: Int = 1, padding: Int? = nil) {
        self.inputChannels = inputChannels
        self.filters = filters
        self.kernel = kernel
        self.stride = stride
        self.padding = padding ?? kernel / 2
        self.store = store
        let patch = kernel * kernel * inputChannels
        weight = store.register(prefix + "weight", shape: [patch, filters],
                                initializer: .glorot(fanIn: patch, fanOut: kernel * kernel * filters), decays: true)
        bias = store.register(prefix + "bias", shape: [filters], initializer: .zeros, decays: false)
    }

    /// The geometry over `batch` images of `height × width`.
    public func geometry(batch: Int, height: Int, width: Int) -> ConvGeometry {
        ConvGeometry(batch: batch, height: height, width: width, channels: inputChannels, kernel: kernel,
                     stride: stride, padding: padding)
    }

    public final class Workspace {
        public let geometry: ConvGeometry
        /// `(N·OH·OW, KH·KW·C)` the input's patches.
        public let columns: Tensor
        /// `(N·OH·OW, F)` the output, NHWC.
        public let output: Tensor
        /// `(N·OH·OW, KH·KW·C)` scratch for the columns' gradient; `N·H·W·C` the input gradient
        /// (training, when the input needs one).
        let gradColumns: Tensor?
        public let gradInput: Tensor?

        init(_ g: ConvGeometry, filters: Int, training: Bool, inputGradient: Bool, backend be: any Backend) throws {
            geometry = g
            columns = try be.zeros([g.outputPixels, g.patch])
            output = try be.zeros([g.outputPixels, filters])
            gradColumns = training && inputGradient ? try be.zeros([g.outputPixels, g.patch]) : nil
            gradInput = training && inputGradient ? try be.zeros([g.batch, g.height, g.width, g.channels]) : nil
        }
    }

    /// Buffers for `batch` images; `inputGradient: false` for a first layer (images need none).
    public func workspace(batch: Int, height: Int, width: Int, training: Bool, inputGradient: Bool = true) throws -> Workspace {
        try Workspace(geometry(batch: batch, height: height, width: width), filters: filters, training: training,
                      inputGradient: inputGradient, backend: store.backend!)
    }

    /// `(N·OH·OW, F)` the convolution of `input` `N·H·W·C`.
    @discardableResult
    public func forward(_ ws: Workspace, input: Tensor) throws -> Tensor {
        let be = store.backend!
        try be.im2col(input, ws.geometry, into: ws.columns)
        try be.gemm(ws.columns, store[weight].value, into: ws.output, transposeA: false, transposeB: false, alpha: 1, beta: 0)
        try be.addRowVector(store[bias].value, to: ws.output)
        return ws.output
    }

    /// Sets the weight and bias gradients from `gradOutput` `(N·OH·OW, F)`, and the input
    /// gradient `ws.gradInput` when the workspace has one.
    public func backward(_ ws: Workspace, gradOutput: Tensor) throws {
        let be = store.backend!
        try be.gemm(ws.columns, gradOutput, into: store[weight].gradient, transposeA: true, transposeB: false, alpha: 1, beta: 0)
        try be.sumRows(gradOutput, into: store[bias].gradient, accumulate: false)
        if let gradColumns = ws.gradColumns, let gradInput = ws.gradInput {
            try be.gemm(gradOutput, store[weight].value, into: gradColumns, transposeA: false, transposeB: true, alpha: 1, beta: 0)
            try be.col2im(gradColumns, ws.geometry, into: gradInput)
        }
    }
}

/// Max pooling over NHWC images (`window × window`, stride `stride`), remembering where each
/// maximum came from so the backward pass is a scatter.
public struct MaxPool2D: Sendable {
    public let window, stride: Int

    public init(window: Int = 2, stride: Int? = nil) {
        self.window = window
        self.stride = stride ?? window
    }

    public func geometry(batch: Int, height: Int, width: Int, channels: Int) -> ConvGeometry {
        ConvGeometry(batch: batch, height: height, width: width, channels: channels, kernel: window, stride: stride)
    }

    public final class Workspace {
        public let geometry: ConvGeometry
        /// `N·OH·OW·C` the pooled output and the input index of each maximum.
        public let output, argmax: Tensor
        /// `N·H·W·C` the input gradient (training).
        public let gradInput: Tensor?

        init(_ g: ConvGeometry, training: Bool, backend be: any Backend) throws {
            geometry = g
            output = try be.zeros([g.outputPixels, g.channels])
            argmax = try be.zeros([g.outputPixels, g.channels], dtype: .int32)
            gradInput = training ? try be.zeros([g.batch, g.height, g.width, g.channels]) : nil
        }
    }

    public func workspace(batch: Int, height: Int, width: Int, channels: Int, training: Bool,
                          backend: any Backend) throws -> Workspace {
        try Workspace(geometry(batch: batch, height: height, width: width, channels: channels), training: training, backend: backend)
    }

    @discardableResult
    public func forward(_ ws: Workspace, input: Tensor, backend: any Backend) throws -> Tensor {
        try backend.maxPool(input, ws.geometry, into: ws.output, argmax: ws.argmax)
        return ws.output
    }

    /// `ws.gradInput` from `gradOutput` `N·OH·OW·C`.
    public func backward(_ ws: Workspace, gradOutput: Tensor, backend: any Backend) throws {
        guard let gradInput = ws.gradInput else { throw LoomError.invalidArgument("maxPool backward needs a training workspace") }
        try backend.maxPoolBackward(gradOutput, argmax: ws.argmax, ws.geometry, into: gradInput)
    }
}
