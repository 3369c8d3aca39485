import Foundation
import LoomCore
import LoomImages

/// A picture with its captions (one or more references).
public struct CaptionedImage: Sendable {
    /// The file name, relative to the image folder.
    public var name: String
    public var image: GrayImage
    public var captions: [String]

    public init(name: String, image: GrayImage, captions: [String]) {
        self.name = name
        self.image = image
        self.captions = captions
    }
}

/// Zalando's Fashion-MNIST (Expat licence), as Debian's `dataset-fashion-mnist` installs it:
/// 60,000 training and 10,000 test photos of articles, 28×28 grey, in ten classes.
public enum FashionMNIST {
    public static let defaultDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")
    /// One caption word per class, in label order.
    public static let classNames = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]

    /// The images and labels of the training or the test split.
    public static func load(train: Bool, directory: URL = defaultDirectory) throws -> (images: [GrayImage], labels: [Int]) {
        let prefix = train ? "train" : "t10k"
        func file(_ kind: String) throws -> URL {
            for name in ["\(prefix)-\(kind)-idx\(kind == "images" ? 3 : 1)-ubyte.gz", "\(prefix)-\(kind)-idx\(kind == "images" ? 3 : 1)-ubyte"] {
                let url = directory.appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: url.path) { return url }
            }
            throw LoomError.io("\(directory.path) has no Fashion-MNIST \(prefix) \(kind) (install Debian's dataset-fashion-mnist: scripts/setup.sh)")
        }
        let images = try IDXFile.images(try file("images")), labels = try IDXFile.labels(try file("labels"))
        guard images.count == labels.count else {
            throw LoomError.invalidData("\(directory.path): \(images.count) \(prefix) images but \(labels.count) labels")
        }
        guard labels.allSatisfy({ (0..<classNames.count).contains($0) }) else {
            throw LoomError.invalidData("\(directory.path): a \(prefix) label outside 0…9")
        }
        return (images, labels)
    }
}

/// Captioned scenes made from Fashion-MNIST: a 56×56 canvas whose 2×2 grid holds one to three
/// articles, captioned in reading order ("top-left shirt , bottom-right bag"). A pure function of
/// the seed; training scenes take only training photos, test scenes only test photos.
public enum Scenes {
    public static let cells = ["top-left", "top-right", "bottom-left", "bottom-right"]
    public static let size = 56

    /// `count` scenes named `prefix000001.png`, … from `images` and their `labels`.
    public static func make(count: Int, images: [GrayImage], labels: [Int], seed: UInt64, prefix: String = "") -> [CaptionedImage] {
        precondition(!images.isEmpty && images.count == labels.count)
        var rng = SeededGenerator(seed: seed)
        let digits = max(6, String(count).count)
        return (0..<count).map { i in
            let k = 1 + Int(rng.next() % 3)
            var chosen = Array(0..<4)
            chosen.shuffle(using: &rng)
            let occupied = chosen.prefix(k).sorted()
            var canvas = GrayImage(width: size, height: size)
            var words: [String] = []
            for cell in occupied {
                let pick = Int(rng.next() % UInt64(images.count))
                canvas.paste(images[pick].resized(width: size / 2, height: size / 2), x: (cell % 2) * size / 2, y: (cell / 2) * size / 2)
                words.append("\(cells[cell]) \(FashionMNIST.classNames[labels[pick]])")
            }
            let number = String(i + 1), name = prefix + String(repeating: "0", count: max(0, digits - number.count)) + number + ".png"
            return CaptionedImage(name: name, image: canvas, captions: [words.joined(separator: " , ")])
        }
    }
}

/// Folders of images with a captions file: one `image<TAB>caption` line per caption (several
/// lines per image allowed; Flickr8k's `image.jpg#0<TAB>caption` too).
public enum CaptionFile {
    /// Parses a captions file: (image name, caption, line number) in file order.
    public static func parse(_ text: String, source: String) throws -> [(image: String, caption: String, line: Int)] {
        var out: [(String, String, Int)] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            guard let tab = line.firstIndex(of: "\t") else {
                throw LoomError.invalidData("\(source):\(i + 1): no tab between the image name and its caption")
            }
            var name = String(line[..<tab]).trimmingCharacters(in: .whitespaces)
            if let hash = name.lastIndex(of: "#"), name.index(after: hash) < name.endIndex,
               name[name.index(after: hash)...].allSatisfy(\.isNumber) {
                name = String(name[..<hash]) // Flickr8k: image.jpg#0
            }
            // Words separated by single spaces, as the captioner writes them (exact match compares text).
            let caption = line[line.index(after: tab)...].split(whereSeparator: \.isWhitespace).joined(separator: " ")
            guard !name.isEmpty else { throw LoomError.invalidData("\(source):\(i + 1): the image name is empty") }
            guard !caption.isEmpty else { throw LoomError.invalidData("\(source):\(i + 1): the caption is empty") }
            out.append((name, caption, i + 1))
        }
        guard !out.isEmpty else { throw LoomError.invalidData("\(source) has no captions") }
        return out
    }

    /// The captioned images of `captions` (a file) with pictures in `images` (a folder), in the
    /// file's order of first mention; every picture resized to `size × size` (nil: as they are,
    /// then all must share one size).
    public static func load(images: URL, captions: URL, size: Int?) throws -> [CaptionedImage] {
        let text = try TextFile.readLines(captions, what: "image<TAB>caption lines")
        var order: [String] = [], byName: [String: [String]] = [:]
        for (name, caption, _) in try parse(text, source: captions.path) {
            if byName[name] == nil { order.append(name) }
            byName[name, default: []].append(caption)
        }
        var result: [CaptionedImage] = []
        result.reserveCapacity(order.count)
        for name in order {
            let url = images.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw LoomError.io("\(url.path): the image of '\(name)' (named in \(captions.lastPathComponent)) does not exist")
            }
            var picture = try GrayImage.read(url)
            if let size { picture = picture.resized(width: size, height: size) }
            result.append(CaptionedImage(name: name, image: picture, captions: byName[name]!))
        }
        if size == nil, let first = result.first,
           let other = result.first(where: { $0.image.width != first.image.width || $0.image.height != first.image.height }) {
            throw LoomError.invalidData("\(other.name) is \(other.image.width)×\(other.image.height), \(first.name) "
                                        + "\(first.image.width)×\(first.image.height): give --size to resize them")
        }
        return result
    }

    /// Writes the pictures as PNG files into `folder` and their captions to `folder/captions.tsv`.
    public static func write(_ set: [CaptionedImage], to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var lines = ""
        for item in set {
            try item.image.writePNG(to: folder.appendingPathComponent(item.name))
            for c in item.captions { lines += "\(item.name)\t\(c)\n" }
        }
        try AtomicFileWriter.write(Data(lines.utf8), to: folder.appendingPathComponent("captions.tsv"))
    }
}
