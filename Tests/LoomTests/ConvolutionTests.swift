import Foundation
import Loom
import XCTest

/// Convolution, ReLU and max pooling: the layers against plain double-precision references
/// (direct convolution, windowed maxima), every backward pass against central differences, and
/// OpenCL against the CPU on odd sizes (odd channel counts, padding, stride 2).
final class ConvolutionTests: XCTestCase {
    let be = TestBackends.cpu

    /// Odd geometries: channels 1, 3 and 5; padding 0, 1 and 2; strides 1 and 2; non-square images.
    let geometries = [
        ConvGeometry(batch: 2, height: 5, width: 7, channels: 3, kernel: 3, stride: 1, padding: 1),
        ConvGeometry(batch: 3, height: 9, width: 6, channels: 5, kernel: 3, stride: 2, padding: 1),
        ConvGeometry(batch: 1, height: 4, width: 4, channels: 1, kernel: 2, stride: 2, padding: 0),
        ConvGeometry(batch: 2, height: 7, width: 5, channels: 3, kernelHeight: 5, kernelWidth: 3, stride: 2, padding: 2),
    ]

    /// Direct convolution in double: out[n, oy, ox, f] = b[f] + Σ x[n, y, x, c] · w[(ky, kx, c), f].
    func referenceConv(_ x: [Double], _ w: [Double], _ b: [Double], _ g: ConvGeometry, filters: Int) -> [Double] {
        var out = [Double](repeating: 0, count: g.outputPixels * filters)
        for n in 0..<g.batch {
            for oy in 0..<g.outputHeight {
                for ox in 0..<g.outputWidth {
                    let row = (n * g.outputHeight + oy) * g.outputWidth + ox
                    for f in 0..<filters {
                        var s = b[f]
                        for ky in 0..<g.kernelHeight {
                            for kx in 0..<g.kernelWidth {
                                let y = oy * g.stride - g.padding + ky, xx = ox * g.stride - g.padding + kx
                                guard y >= 0, y < g.height, xx >= 0, xx < g.width else { continue }
                                for c in 0..<g.channels {
                                    s += x[((n * g.height + y) * g.width + xx) * g.channels + c]
                                        * w[((ky * g.kernelWidth + kx) * g.channels + c) * filters + f]
                                }
                            }
                        }
                        out[row * filters + f] = s
                    }
                }
            }
        }
        return out
    }

    func referencePool(_ x: [Double], _ g: ConvGeometry) -> [Double] {
        var out = [Double](repeating: 0, count: g.outputPixels * g.channels)
        for n in 0..<g.batch {
            for oy in 0..<g.outputHeight {
                for ox in 0..<g.outputWidth {
                    for c in 0..<g.channels {
                        var m = -Double.infinity
                        for ky in 0..<g.kernelHeight {
                            for kx in 0..<g.kernelWidth {
                                let y = oy * g.stride - g.padding + ky, xx = ox * g.stride - g.padding + kx
                                guard y >= 0, y < g.height, xx >= 0, xx < g.width else { continue }
                                m = max(m, x[((n * g.height + y) * g.width + xx) * g.channels + c])
                            }
                        }
                        out[((n * g.outputHeight + oy) * g.outputWidth + ox) * g.channels + c] = m
                    }
                }
            }
        }
        return out
    }

    func testConvolutionLayerMatchesDirectConvolutionAndFiniteDifferences() throws {
        for (index, g) in geometries.enumerated() {
            let filters = [4, 5, 2, 3][index]
            if g.kernelHeight != g.kernelWidth { continue } // the layer is square; the ops are tested below
            let store = ParameterStore()
            let conv = Conv2D(store: store, prefix: "c.", inputChannels: g.channels, filters: filters,
                              kernel: g.kernelHeight, stride: g.stride, padding: g.padding)
            try store.allocate(on: be, stateCount: 0, seed: 3)
            var data = TestData(seed: UInt64(index))
            let bias = data.uniform(filters)
            try be.upload(bias, to: store[conv.bias].value)
            let x = data.uniform(g.inputCount), r = data.uniform(g.outputPixels * filters)
            let w = try be.floats(store[conv.weight].value)
            let ws = try conv.workspace(batch: g.batch, height: g.height, width: g.width, training: true)
            let out = try conv.forward(ws, input: try be.tensor(x))
            let (xd, wd, bd, rd) = (x.map(Double.init), w.map(Double.init), bias.map(Double.init), r.map(Double.init))
            assertClose(try be.floats(out).map(Double.init), referenceConv(xd, wd, bd, g, filters: filters),
                        atol: 1e-5, rtol: 1e-5, "conv forward \(g)")
            try conv.backward(ws, gradOutput: try be.tensor(r, shape: [g.outputPixels, filters]))
            func loss(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
                zip(referenceConv(x, w, b, g, filters: filters), rd).reduce(0) { $0 + $1.0 * $1.1 }
            }
            assertClose(try be.floats(ws.gradInput!).map(Double.init), numericGradient(xd) { loss($0, wd, bd) },
                        atol: 1e-5, rtol: 1e-4, "conv input gradient \(g)")
            assertClose(try be.floats(store[conv.weight].gradient).map(Double.init), numericGradient(wd) { loss(xd, $0, bd) },
                        atol: 1e-5, rtol: 1e-4, "conv weight gradient \(g)")
            assertClose(try be.floats(store[conv.bias].gradient).map(Double.init), numericGradient(bd) { loss(xd, wd, $0) },
                        atol: 1e-5, rtol: 1e-4, "conv bias gradient \(g)")
        }
    }

    func testMaxPoolAndReLUMatchReferencesAndFiniteDifferences() throws {
        let pools = [ConvGeometry(batch: 2, height: 7, width: 5, channels: 3, kernel: 2, stride: 2),
                     ConvGeometry(batch: 1, height: 6, width: 6, channels: 5, kernel: 3, stride: 2, padding: 1),
                     ConvGeometry(batch: 2, height: 5, width: 4, channels: 1, kernel: 3, stride: 1, padding: 1)]
        for (index, g) in pools.enumerated() {
            var data = TestData(seed: 40 + UInt64(index))
            // Distinct values a step apart, shuffled: no ties, so finite differences see one maximum.
            var x = (0..<g.inputCount).map { Float($0) * 0.01 - 1 }
            x.shuffle(using: &data.rng)
            let r = data.uniform(g.outputPixels * g.channels)
            let output = try be.zeros([g.outputPixels * g.channels]), gradInput = try be.zeros([g.inputCount])
            let argmax = try be.zeros([g.outputPixels * g.channels], dtype: .int32)
            try be.maxPool(try be.tensor(x), g, into: output, argmax: argmax)
            let xd = x.map(Double.init), rd = r.map(Double.init)
            assertClose(try be.floats(output).map(Double.init), referencePool(xd, g), atol: 0, rtol: 0, "max pool \(g)")
            try be.maxPoolBackward(try be.tensor(r), argmax: argmax, g, into: gradInput)
            let numeric = numericGradient(xd, h: 1e-4) { v in zip(self.referencePool(v, g), rd).reduce(0) { $0 + $1.0 * $1.1 } }
            assertClose(try be.floats(gradInput).map(Double.init), numeric, atol: 1e-6, rtol: 1e-5, "max pool backward \(g)")
        }
        // ReLU, away from the kink.
        var data = TestData(seed: 9)
        let x = data.uniform(101).map { $0 + ($0 >= 0 ? 0.05 : -0.05) }, r = data.uniform(101)
        let y = try be.zeros([101]), dx = try be.zeros([101])
        try be.relu(try be.tensor(x), into: y)
        XCTAssertEqual(try be.floats(y), x.map { max($0, 0) })
        try be.reluBackward(output: y, gradOutput: try be.tensor(r), into: dx)
        let numeric = numericGradient(x.map(Double.init)) { v in zip(v, r).reduce(0) { $0 + max($1.0, 0) * Double($1.1) } }
        assertClose(try be.floats(dx).map(Double.init), numeric, atol: 1e-6, rtol: 1e-5, "relu backward")
    }

    func testConvolutionOpsParityCPUOpenCL() throws {
        for g in geometries + [ConvGeometry(batch: 5, height: 28, width: 28, channels: 32, kernel: 3, stride: 1, padding: 1)] {
            try checkParity("convolution ops \(g)", atol: 1e-5, rtol: 1e-5) { be in
                var data = TestData(seed: UInt64(g.inputCount))
                let x = try be.tensor(data.uniform(g.inputCount))
                let cols = try be.zeros([g.outputPixels, g.patch]), back = try be.zeros([g.inputCount])
                try be.im2col(x, g, into: cols)
                try be.col2im(cols, g, into: back)
                let pooled = try be.zeros([g.outputPixels * g.channels])
                let argmax = try be.zeros([g.outputPixels * g.channels], dtype: .int32)
                try be.maxPool(x, g, into: pooled, argmax: argmax)
                let dx = try be.zeros([g.inputCount])
                try be.maxPoolBackward(try be.tensor(data.uniform(g.outputPixels * g.channels)), argmax: argmax, g, into: dx)
                let y = try be.zeros([g.inputCount]), dy = try be.zeros([g.inputCount])
                try be.relu(x, into: y)
                try be.reluBackward(output: y, gradOutput: back, into: dy)
                return [("columns", try be.floats(cols)), ("col2im", try be.floats(back)), ("pooled", try be.floats(pooled)),
                        ("argmax", try be.ints(argmax).map(Float.init)), ("pool backward", try be.floats(dx)),
                        ("relu", try be.floats(y)), ("relu backward", try be.floats(dy))]
            }
        }
    }

    func testBadGeometriesAreNamedErrors() throws {
        let x = try be.zeros([2 * 3 * 3])
        let bad = ConvGeometry(batch: 2, height: 3, width: 3, channels: 1, kernel: 5)
        assertLoomError(.invalidArgument) { try self.be.im2col(x, bad, into: try self.be.zeros([1, 25])) }
        let g = ConvGeometry(batch: 2, height: 3, width: 3, channels: 1, kernel: 3, padding: 1)
        assertLoomError(.shapeMismatch) { try self.be.im2col(x, g, into: try self.be.zeros([5, 9])) }
        assertLoomError(.dtypeMismatch) {
            try self.be.maxPool(x, g, into: try self.be.zeros([18]), argmax: try self.be.zeros([18]))
        }
    }
}
