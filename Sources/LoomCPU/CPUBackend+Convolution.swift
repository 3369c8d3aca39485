import LoomCore
import _LoomCPUKernels

/// Convolution and pooling on NHWC images (see `ConvGeometry`): plain loops, split over threads
/// by output rows (`im2col`, `maxPool`) or by images (`col2im` and the non-overlapping
/// `maxPoolBackward` scatter into their own images in a fixed order; overlapping pooling windows
/// gather per input pixel), so no two threads add into one element and sums keep their order.
extension CPUBackend {
    public func im2col(_ input: Tensor, _ g: ConvGeometry, into columns: Tensor) throws {
        try Check.owned("im2col", by: self, input, columns)
        try Check.im2col("im2col", image: input, columns: columns, g)
        let x = f(input), out = f(columns)
        let (oh, ow, c, patch) = (g.outputHeight, g.outputWidth, g.channels, g.patch)
        parallelFor(g.outputPixels, grain: max(1, 4096 / patch)) { rows in
            for row in rows {
                let n = row / (oh * ow), oy = row / ow % oh, ox = row % ow
                var dst = out + row * patch
                for ky in 0..<g.kernelHeight {
                    let y = oy * g.stride - g.padding + ky
                    for kx in 0..<g.kernelWidth {
                        let xx = ox * g.stride - g.padding + kx
                        if y >= 0 && y < g.height && xx >= 0 && xx < g.width {
                            let src = x + ((n * g.height + y) * g.width + xx) * c
                            // A few channels (a first layer's 1 or 3) copy faster than memmove starts.
                            if c < 8 { for k in 0..<c { dst[k] = src[k] } } else { dst.update(from: src, count: c) }
                        } else {
                            dst.update(repeating: 0, count: c)
                        }
                        dst += c
                    }
                }
            }
        }
    }

    public func col2im(_ columns: Tensor, _ g: ConvGeometry, into gradInput: Tensor) throws {
        try Check.owned("col2im", by: self, columns, gradInput)
        try Check.im2col("col2im", image: gradInput, columns: columns, g)
        let cols = f(columns), dx = f(gradInput)
        let (oh, ow, c, patch) = (g.outputHeight, g.outputWidth, g.channels, g.patch)
        let image = g.height * g.width * c
        // Images are independent: each thread adds every column row of its images into them, in
        // row order (the same order every run).
        parallelFor(g.batch, grain: 1) { images in
            for n in images {
                let base = dx + n * image
                base.update(repeating: 0, count: image)
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var src = cols + ((n * oh + oy) * ow + ox) * patch
                        for ky in 0..<g.kernelHeight {
                            let y = oy * g.stride - g.padding + ky
                            guard y >= 0 && y < g.height else { src += g.kernelWidth * c; continue }
                            for kx in 0..<g.kernelWidth {
                                let x = ox * g.stride - g.padding + kx
                                if x >= 0 && x < g.width {
                                    let dst = base + (y * g.width + x) * c
                                    for k in 0..<c { dst[k] += src[k] }
                                }
                                src += c
                            }
                        }
                    }
                }
            }
        }
    }

    public func relu(_ x: Tensor, into out: Tensor) throws {
        try Check.owned("relu", by: self, x, out)
        let n = try Check.elementwise("relu", x, out)
        let px = f(x), po = f(out)
        // NaN passes through, as on OpenCL.
        parallelFor(n, grain: 8192) { r in for i in r { po[i] = px[i] < 0 ? 0 : px[i] } }
    }

    public func reluBackward(output y: Tensor, gradOutput: Tensor, into gradInput: Tensor) throws {
        try Check.owned("reluBackward", by: self, y, gradOutput, gradInput)
        let n = try Check.elementwise("reluBackward", y, gradOutput, gradInput)
        let py = f(y), pg = f(gradOutput), pd = f(gradInput)
        parallelFor(n, grain: 8192) { r in for i in r { pd[i] = py[i] > 0 ? pg[i] : 0 } }
    }

    public func maxPool(_ input: Tensor, _ g: ConvGeometry, into output: Tensor, argmax: Tensor) throws {
        try Check.owned("maxPool", by: self, input, output, argmax)
        try Check.maxPool("maxPool", input: input, output: output, argmax: argmax, g)
        let x = f(input), out = f(output), arg = i32(argmax)
        let (oh, ow, c) = (g.outputHeight, g.outputWidth, g.channels)
        let window = g.kernelHeight * g.kernelWidth
        parallelFor(g.outputPixels, grain: max(1, 2048 / c)) { rows in
            // The window's pixels in order, all channels at once (contiguous in NHWC).
            withUnsafeTemporaryAllocation(of: Int.self, capacity: window) { offsets in
                for row in rows {
                    let n = row / (oh * ow), oy = row / ow % oh, ox = row % ow
                    var count: Int32 = 0
                    for ky in 0..<g.kernelHeight {
                        let y = oy * g.stride - g.padding + ky
                        guard y >= 0 && y < g.height else { continue }
                        for kx in 0..<g.kernelWidth {
                            let xx = ox * g.stride - g.padding + kx
                            guard xx >= 0 && xx < g.width else { continue }
                            offsets[Int(count)] = ((n * g.height + y) * g.width + xx) * c
                            count += 1
                        }
                    }
                    loom_max_pool_pixel(x, offsets.baseAddress!, count, c, out + row * c, arg + row * c)
                }
            }
        }
    }

    public func maxPoolBackward(_ gradOutput: Tensor, argmax: Tensor, _ g: ConvGeometry, into gradInput: Tensor) throws {
        try Check.owned("maxPoolBackward", by: self, gradOutput, argmax, gradInput)
        try Check.maxPool("maxPoolBackward", input: gradInput, output: gradOutput, argmax: argmax, g)
        let dy = f(gradOutput), arg = i32(argmax), dx = f(gradInput)
        let (oh, ow, c) = (g.outputHeight, g.outputWidth, g.channels)
        if g.stride >= g.kernelHeight && g.stride >= g.kernelWidth {
            // Windows do not overlap: every input element is the maximum of at most one output,
            // so the backward pass is a plain scatter (each thread its own images). An argmax
            // outside its image (not from `maxPool`) is skipped, as OpenCL's kernel never matches it.
            let image = g.height * g.width * c, pooled = oh * ow * c
            parallelFor(g.batch, grain: 1) { images in
                for n in images {
                    (dx + n * image).update(repeating: 0, count: image)
                    let first = n * image, end = first + image
                    for i in (n * pooled)..<((n + 1) * pooled) {
                        let a = Int(arg[i])
                        if a >= first && a < end { dx[a] = dy[i] }
                    }
                }
            }
            return
        }
        parallelFor(g.batch * g.height * g.width, grain: max(1, 2048 / c)) { pixels in
            for pixel in pixels {
                let n = pixel / (g.height * g.width), y = pixel / g.width % g.height, x = pixel % g.width
                for k in 0..<c { dx[pixel * c + k] = 0 }
                for ky in 0..<g.kernelHeight {
                    let sy = y + g.padding - ky
                    guard sy >= 0, sy % g.stride == 0, sy / g.stride < oh else { continue }
                    for kx in 0..<g.kernelWidth {
                        let sx = x + g.padding - kx
                        guard sx >= 0, sx % g.stride == 0, sx / g.stride < ow else { continue }
                        let o = ((n * oh + sy / g.stride) * ow + sx / g.stride) * c
                        for k in 0..<c where Int(arg[o + k]) == pixel * c + k { dx[pixel * c + k] += dy[o + k] }
                    }
                }
            }
        }
    }
}
