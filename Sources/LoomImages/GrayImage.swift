import CPNG
import CTurboJPEG
import CLoomZlib
import Foundation
import LoomCore

/// An 8-bit greyscale picture, row-major, 0 black … 255 white.
public struct GrayImage: Equatable, Sendable {
    public let width, height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height, "pixels must be width × height")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A black `width × height` canvas.
    public init(width: Int, height: Int) {
        self.init(width: width, height: height, pixels: [UInt8](repeating: 0, count: width * height))
    }

    public subscript(x: Int, y: Int) -> UInt8 {
        get { pixels[y * width + x] }
        set { pixels[y * width + x] = newValue }
    }

    /// Copies `image` with its top-left corner at (`x`, `y`); parts outside are cut off.
    public mutating func paste(_ image: GrayImage, x: Int, y: Int) {
        for sy in 0..<image.height where y + sy >= 0 && y + sy < height {
            for sx in 0..<image.width where x + sx >= 0 && x + sx < width {
                self[x + sx, y + sy] = image[sx, sy]
            }
        }
    }

    /// The picture scaled to `width × height` by bilinear interpolation (area averaging when
    /// shrinking by a whole factor), for feeding a model a fixed size.
    public func resized(width w: Int, height h: Int) -> GrayImage {
        if w == width && h == height { return self }
        var out = [UInt8](repeating: 0, count: w * h)
        if width % w == 0 && height % h == 0 {
            let fx = width / w, fy = height / h
            for y in 0..<h {
                for x in 0..<w {
                    var s = 0
                    for dy in 0..<fy { for dx in 0..<fx { s += Int(self[x * fx + dx, y * fy + dy]) } }
                    out[y * w + x] = UInt8((s + fx * fy / 2) / (fx * fy))
                }
            }
            return GrayImage(width: w, height: h, pixels: out)
        }
        for y in 0..<h {
            let sy = max(0, min(Double(height - 1), (Double(y) + 0.5) * Double(height) / Double(h) - 0.5))
            let y0 = Int(sy), y1 = min(y0 + 1, height - 1), ty = sy - Double(y0)
            for x in 0..<w {
                let sx = max(0, min(Double(width - 1), (Double(x) + 0.5) * Double(width) / Double(w) - 0.5))
                let x0 = Int(sx), x1 = min(x0 + 1, width - 1), tx = sx - Double(x0)
                let top = Double(self[x0, y0]) * (1 - tx) + Double(self[x1, y0]) * tx
                let bottom = Double(self[x0, y1]) * (1 - tx) + Double(self[x1, y1]) * tx
                out[y * w + x] = UInt8((top * (1 - ty) + bottom * ty).rounded())
            }
        }
        return GrayImage(width: w, height: h, pixels: out)
    }

    // MARK: Files

    /// Decodes a PNG or JPEG file (told apart by their first bytes, not the name) to 8-bit grey.
    public static func read(_ url: URL) throws -> GrayImage {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw LoomError.io(FileManager.default.fileExists(atPath: url.path) ? "\(url.path): cannot open the image" : "\(url.path): no such image")
        }
        let head = [UInt8]((try? handle.read(upToCount: 8)) ?? Data())
        try? handle.close()
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return try readPNG(url) }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return try readJPEG(url) }
        throw LoomError.invalidData("\(url.path): not a PNG or JPEG image" + (head.isEmpty ? " (the file is empty)" : ""))
    }

    // MARK: JPEG (libjpeg-turbo)

    /// Decodes a baseline or progressive JPEG file to 8-bit grey (colour is converted by
    /// libjpeg's luminance, Y of YCbCr). A damaged or truncated file is an error, not a grey patch.
    public static func readJPEG(_ url: URL) throws -> GrayImage {
        guard FileManager.default.fileExists(atPath: url.path) else { throw LoomError.io("\(url.path): no such image") }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw LoomError.io("\(url.path): cannot read the image") }
        guard let handle = tjInitDecompress() else { throw LoomError.io("libjpeg-turbo: cannot start a decompressor") }
        defer { tjDestroy(handle) }
        func damaged(_ what: String) -> LoomError {
            .invalidData("\(url.path): \(what) (\(String(cString: tjGetErrorStr2(handle))))")
        }
        return try data.withUnsafeBytes { raw -> GrayImage in
            let bytes = raw.bindMemory(to: UInt8.self).baseAddress
            var w: Int32 = 0, h: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
            guard let bytes, tjDecompressHeader3(handle, bytes, UInt(raw.count), &w, &h, &subsampling, &colorspace) == 0 else {
                throw damaged("not a readable JPEG image")
            }
            guard w > 0, h > 0 else { throw LoomError.invalidData("\(url.path): not a readable JPEG image (no picture size)") }
            guard Int(w) * Int(h) <= 1 << 28 else { throw LoomError.invalidData("\(url.path): a \(w)×\(h) image is too large") }
            var pixels = [UInt8](repeating: 0, count: Int(w) * Int(h))
            let ok = pixels.withUnsafeMutableBufferPointer {
                tjDecompress2(handle, bytes, UInt(raw.count), $0.baseAddress, w, 0, h, Int32(TJPF_GRAY.rawValue),
                          TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS)
            }
            guard ok == 0 else { throw damaged("a damaged JPEG image") }
            return GrayImage(width: Int(w), height: Int(h), pixels: pixels)
        }
    }

    /// The picture as the bytes of a greyscale JPEG file of `quality` 1…100.
    public func jpegData(quality: Int = 90) throws -> Data {
        precondition((1...100).contains(quality), "JPEG quality is 1…100")
        guard let handle = tjInitCompress() else { throw LoomError.io("libjpeg-turbo: cannot start a compressor") }
        defer { tjDestroy(handle) }
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        defer { if let out { tjFree(out) } }
        let ok = pixels.withUnsafeBufferPointer {
            tjCompress2(handle, $0.baseAddress, Int32(width), 0, Int32(height), Int32(TJPF_GRAY.rawValue), &out, &size,
                        Int32(TJSAMP_GRAY.rawValue), Int32(quality), 0)
        }
        guard ok == 0, let out else { throw LoomError.io("cannot encode JPEG (\(String(cString: tjGetErrorStr2(handle))))") }
        return Data(bytes: out, count: Int(size))
    }

    // MARK: PNG (libpng)

    /// Decodes a PNG file of any colour type and bit depth to 8-bit grey (colour is converted
    /// by libpng's sRGB luminance weights, alpha composited on black).
    public static func readPNG(_ url: URL) throws -> GrayImage {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw LoomError.io("\(url.path): no such image")
        }
        guard png_image_begin_read_from_file(&image, url.path) != 0 else {
            throw LoomError.invalidData("\(url.path): not a readable PNG image (\(message(&image))); convert other formats to PNG")
        }
        image.format = png_uint_32(PNG_FORMAT_GRAY)
        let w = Int(image.width), h = Int(image.height)
        guard w > 0, h > 0, w * h <= 1 << 28 else { throw LoomError.invalidData("\(url.path): a \(w)×\(h) image is too large") }
        var pixels = [UInt8](repeating: 0, count: w * h)
        let ok = pixels.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, png_int_32(w), nil) }
        guard ok != 0 else { throw LoomError.invalidData("\(url.path): a damaged PNG image (\(message(&image)))") }
        return GrayImage(width: w, height: h, pixels: pixels)
    }

    /// Writes the picture as an 8-bit greyscale PNG, atomically (`AtomicFileWriter`).
    public func writePNG(to url: URL) throws {
        try AtomicFileWriter.write(try pngData(), to: url)
    }

    /// The picture as the bytes of an 8-bit greyscale PNG file.
    public func pngData() throws -> Data {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(width)
        image.height = png_uint_32(height)
        image.format = png_uint_32(PNG_FORMAT_GRAY)
        defer { png_image_free(&image) }
        var size = 0
        // First the size, then the bytes.
        guard pixels.withUnsafeBytes({ png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, png_int_32(width), nil) }) != 0 else {
            throw LoomError.io("cannot encode PNG (\(Self.message(&image)))")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        let ok = bytes.withUnsafeMutableBytes { out in
            pixels.withUnsafeBytes { png_image_write_to_memory(&image, out.baseAddress, &size, 0, $0.baseAddress, png_int_32(width), nil) }
        }
        guard ok != 0 else { throw LoomError.io("cannot encode PNG (\(Self.message(&image)))") }
        return Data(bytes.prefix(size))
    }

    private static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

/// IDX files (LeCun's MNIST format, also Fashion-MNIST's), plain or gzip-compressed: a magic
/// number giving the element type and rank, the dimensions as big-endian 32-bit integers, then
/// the data.
public enum IDXFile {
    /// The unsigned-byte tensor of `url`: its dimensions and values.
    public static func read(_ url: URL) throws -> (dimensions: [Int], values: [UInt8]) {
        let data = try contents(url)
        func fail(_ why: String) -> LoomError { .invalidData("\(url.path): not an IDX file (\(why))") }
        guard data.count >= 4, data[0] == 0, data[1] == 0 else { throw fail("bad magic number") }
        guard data[2] == 0x08 else { throw fail("element type 0x\(String(data[2], radix: 16)), only unsigned bytes are read") }
        let rank = Int(data[3])
        guard rank >= 1, data.count >= 4 + 4 * rank else { throw fail("truncated header") }
        var dims: [Int] = []
        for d in 0..<rank {
            let o = 4 + 4 * d
            dims.append(Int(data[o]) << 24 | Int(data[o + 1]) << 16 | Int(data[o + 2]) << 8 | Int(data[o + 3]))
        }
        // Dimensions are signed 32-bit in the format; a larger one is damage, and two of at most
        // 2³¹ − 1 multiply without overflow even when another dimension is 0.
        guard dims.allSatisfy({ $0 <= Int(Int32.max) }) else { throw fail("a dimension over 2³¹ − 1 in \(dims)") }
        var count = 1
        for d in dims {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= data.count else { throw fail("dimensions \(dims) do not fit the file's \(data.count) bytes") }
            count = product
        }
        let start = 4 + 4 * rank
        guard data.count - start == count else {
            throw fail("\(dims.map(String.init).joined(separator: "×")) needs \(count) bytes, the file has \(data.count - start)")
        }
        return (dims, Array(data[start...]))
    }

    /// Images of an `N × rows × cols` IDX file.
    public static func images(_ url: URL) throws -> [GrayImage] {
        let (dims, values) = try read(url)
        guard dims.count == 3, dims[1] > 0, dims[2] > 0 else {
            throw LoomError.invalidData("\(url.path): expected N × rows × columns images, got dimensions \(dims)")
        }
        let (size, overflow) = dims[1].multipliedReportingOverflow(by: dims[2])
        guard !overflow else { throw LoomError.invalidData("\(url.path): \(dims[1]) × \(dims[2]) pixels do not fit in memory") }
        return (0..<dims[0]).map { GrayImage(width: dims[2], height: dims[1], pixels: Array(values[($0 * size)..<(($0 + 1) * size)])) }
    }

    /// Labels of an `N` IDX file.
    public static func labels(_ url: URL) throws -> [Int] {
        let (dims, values) = try read(url)
        guard dims.count == 1 else { throw LoomError.invalidData("\(url.path): expected a vector of labels, got dimensions \(dims)") }
        return values.map(Int.init)
    }

    /// The file's bytes, inflated when it is gzip-compressed.
    static func contents(_ url: URL) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: url.path), let file = gzopen(url.path, "rb") else {
            throw LoomError.io("\(url.path): cannot open")
        }
        var closed = false
        defer { if !closed { gzclose(file) } }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n < 0 { throw LoomError.invalidData("\(url.path): damaged compressed data") }
            if n == 0 { break }
            out += chunk[0..<Int(n)]
        }
        closed = true
        // zlib reports a stream cut short only when the file is closed.
        if gzclose(file) == Z_BUF_ERROR { throw LoomError.invalidData("\(url.path): truncated compressed data") }
        return out
    }
}
