import Foundation
import LoomCore

/// Where a known corpus comes from and what it must look like once fetched.
public struct CorpusSource: Equatable, Sendable {
    /// The name users type (`--corpus text8`); also the unpacked file's name in the cache.
    public var name: String
    /// An `http://` or `https://` URL of a zip archive.
    public var url: String
    /// The zip's exact size in bytes; nil skips the check.
    public var zipSize: Int?
    /// The entry to unpack.
    public var entry: String
    /// The unpacked entry's size in bytes; nil skips the check.
    public var unpackedSize: Int?
    /// The unpacked entry's CRC-32; nil trusts the archive's own (which is always verified).
    public var crc32: UInt32?
    /// One line for listings.
    public var summary: String

    public init(name: String, url: String, zipSize: Int?, entry: String, unpackedSize: Int?,
                crc32: UInt32? = nil, summary: String = "") {
        self.name = name
        self.url = url
        self.zipSize = zipSize
        self.entry = entry
        self.unpackedSize = unpackedSize
        self.crc32 = crc32
        self.summary = summary
    }

    /// Matt Mahoney's text8: the first 10⁸ characters of an English Wikipedia dump, lower-cased,
    /// letters and single spaces only. The sizes are those TensorFlow's word2vec tutorial checks.
    public static let text8 = CorpusSource(
        name: "text8", url: "http://mattmahoney.net/dc/text8.zip", zipSize: 31_344_016,
        entry: "text8", unpackedSize: 100_000_000,
        summary: "first 100 MB of English Wikipedia, cleaned (Matt Mahoney)")
}

/// What a corpus download is doing, for a progress display.
public enum CorpusProgress: Equatable, Sendable {
    /// Fetching the zip; the total is nil when the server did not announce it.
    case downloading(bytesSoFar: Int, totalBytes: Int?)
    /// Unpacking the entry from the zip.
    case unpacking(bytesSoFar: Int, totalBytes: Int)
}

/// The corpora Loom knows how to fetch, and the cache they live in.
///
/// Layout: `<cache>/corpora/<name>` is the unpacked corpus (for text8, `~/.cache/loom/corpora/text8`).
/// While downloading, the zip is `<cache>/corpora/<name>.zip`; it is deleted once unpacked and
/// checked, as the corpus is all Loom reads. Every file appears under its final name only once
/// complete (`AtomicFileWriter`), so an interrupted run leaves nothing half-written behind and the
/// next run starts over.
public enum CorpusCatalog {
    /// The corpora `loom corpus download` offers.
    public static let known: [CorpusSource] = [.text8]

    /// `$LOOM_CACHE_DIR`, else `~/.cache/loom`.
    public static var defaultCacheDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["LOOM_CACHE_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/loom")
    }

    /// The known corpus called `name`.
    public static func source(named name: String, in sources: [CorpusSource] = known) -> CorpusSource? {
        sources.first { $0.name == name }
    }

    /// Where the unpacked corpus lives (whether or not it is there yet).
    public static func cachedURL(for source: CorpusSource, cacheDirectory: URL = defaultCacheDirectory) -> URL {
        cacheDirectory.appendingPathComponent("corpora").appendingPathComponent(source.name)
    }

    /// Whether the unpacked corpus is in the cache with the expected size.
    public static func isCached(_ source: CorpusSource, cacheDirectory: URL = defaultCacheDirectory) -> Bool {
        isComplete(cachedURL(for: source, cacheDirectory: cacheDirectory), source)
    }

    // MARK: Download

    /// Downloads and unpacks the known corpus `name`; see `download(_:cacheDirectory:timeout:progress:)`.
    @discardableResult
    public static func download(_ name: String, cacheDirectory: URL = defaultCacheDirectory,
                                timeout: Double = 30,
                                progress: ((CorpusProgress) -> Void)? = nil) throws -> URL {
        try download(try knownSource(name), cacheDirectory: cacheDirectory, timeout: timeout, progress: progress)
    }

    /// Fetches `source`'s zip (HTTP or HTTPS, at most 5 redirects; `timeout` seconds without data
    /// ends it) into the cache, checks its size, unpacks the entry (checking CRC-32 and size),
    /// deletes the zip and returns the unpacked corpus. Returns at once when the corpus is already
    /// cached. A zip of the wrong size, or a damaged one, is deleted so the next run fetches it again.
    @discardableResult
    public static func download(_ source: CorpusSource, cacheDirectory: URL = defaultCacheDirectory,
                                timeout: Double = 30,
                                progress: ((CorpusProgress) -> Void)? = nil) throws -> URL {
        try download(source, cacheDirectory: cacheDirectory, downloader: HTTPDownloader(timeout: timeout),
                     progress: progress)
    }

    /// `download(_:cacheDirectory:timeout:progress:)` with a configured downloader (tests use it
    /// for trust roots and short timeouts).
    @discardableResult
    package static func download(_ source: CorpusSource, cacheDirectory: URL = defaultCacheDirectory,
                                 downloader: HTTPDownloader,
                                 progress: ((CorpusProgress) -> Void)? = nil) throws -> URL {
        try checkName(source)
        let target = cachedURL(for: source, cacheDirectory: cacheDirectory)
        if isComplete(target, source) { return target }
        let zip = target.deletingLastPathComponent().appendingPathComponent(source.name + ".zip")

        // A complete zip left by an earlier run that failed while unpacking (disk full, …) is reused.
        if !(source.zipSize.map { fileSize(zip) == $0 } ?? false) {
            var fetcher = downloader
            fetcher.afterManualDownload = "run `\(importCommand(source))`"
            try fetcher.download(source.url, to: zip) { done, total in
                progress?(.downloading(bytesSoFar: done, totalBytes: total))
            }
        }
        do {
            try checkZipSize(zip, source, origin: source.url)
            try unpack(zip, source, to: target, progress: progress)
        } catch let error as LoomError {
            // A damaged zip goes, so the next run fetches it again; one that could not be unpacked
            // for another reason (the disk is full, …) stays, and is reused.
            if case .invalidData = error { try? FileManager.default.removeItem(at: zip) }
            throw error
        }
        try? FileManager.default.removeItem(at: zip)
        return target
    }

    /// Unpacks a zip the user fetched themselves (for instance on a machine with network access)
    /// into the cache, with the same checks as a download. The user's zip is left in place.
    @discardableResult
    public static func importZip(_ name: String, from localZip: URL, cacheDirectory: URL = defaultCacheDirectory,
                                 progress: ((CorpusProgress) -> Void)? = nil) throws -> URL {
        try importZip(try knownSource(name), from: localZip, cacheDirectory: cacheDirectory, progress: progress)
    }

    /// `importZip(_:from:cacheDirectory:progress:)` for any source.
    @discardableResult
    public static func importZip(_ source: CorpusSource, from localZip: URL,
                                 cacheDirectory: URL = defaultCacheDirectory,
                                 progress: ((CorpusProgress) -> Void)? = nil) throws -> URL {
        try checkName(source)
        let target = cachedURL(for: source, cacheDirectory: cacheDirectory)
        try checkZipSize(localZip, source, origin: nil)
        try unpack(localZip, source, to: target, progress: progress)
        return target
    }

    // MARK: Resolving `--corpus`

    /// The file a `--corpus` argument names: a known corpus name gives its cached copy (an error
    /// says how to download it when it is missing, unless a file of that name is in the current
    /// folder); anything else is a path, which must exist.
    public static func resolve(_ nameOrPath: String, cacheDirectory: URL = defaultCacheDirectory,
                               sources: [CorpusSource] = known) throws -> URL {
        let local = URL(fileURLWithPath: (nameOrPath as NSString).expandingTildeInPath)
        if !nameOrPath.contains("/"), let source = source(named: nameOrPath, in: sources) {
            let cached = cachedURL(for: source, cacheDirectory: cacheDirectory)
            if isComplete(cached, source) { return cached }
            if fileSize(local) != nil { return local }
            if fileSize(cached) != nil {
                throw LoomError.invalidData("the cached copy of \(source.name) at \(cached.path) is incomplete or "
                                            + "damaged; run `loom corpus download \(source.name)` to fetch it again")
            }
            throw LoomError.io("corpus \(source.name) is not downloaded yet: run `loom corpus download \(source.name)`"
                               + (source.zipSize.map { " (\(megabytes($0)) from \(host(of: source.url)))" } ?? "")
                               + ", or pass the path of a text file")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: local.path, isDirectory: &isDirectory) else {
            let names = sources.map(\.name).joined(separator: ", ")
            throw LoomError.io("no corpus file at \(local.path) (known corpora to download: \(names))")
        }
        guard !isDirectory.boolValue else {
            throw LoomError.invalidArgument("\(local.path) is a folder; --corpus takes a text file")
        }
        return local
    }

    // MARK: Steps

    /// The CLI command that imports a manually downloaded zip.
    static func importCommand(_ source: CorpusSource) -> String {
        let file = source.url.split(separator: "/").last.map(String.init) ?? "\(source.name).zip"
        return "loom corpus import \(source.name) /path/to/\(file)"
    }

    private static func knownSource(_ name: String) throws -> CorpusSource {
        guard let source = source(named: name) else {
            throw LoomError.invalidArgument("unknown corpus '\(name)' (known: \(known.map(\.name).joined(separator: ", ")))")
        }
        return source
    }

    private static func checkName(_ source: CorpusSource) throws {
        let name = source.name
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.hasPrefix(".") else {
            throw LoomError.invalidArgument("'\(name)' cannot name a corpus (it becomes a file name in the cache)")
        }
    }

    /// Checks the zip's size. `origin` is the URL it was downloaded from, nil for a user's file.
    private static func checkZipSize(_ zip: URL, _ source: CorpusSource, origin: String?) throws {
        guard let expected = source.zipSize else { return }
        guard let size = fileSize(zip) else {
            throw LoomError.io("cannot read \(zip.path): no such file")
        }
        guard size == expected else {
            let what = origin.map { "the file downloaded from \($0)" } ?? zip.path
            throw LoomError.invalidData("\(what) is \(bytes(size)), but \(source.name)'s zip is \(bytes(expected)): "
                                        + (origin == nil ? "not the right file, or an incomplete download"
                                                         : "the server sent something else; deleted it, try again later"))
        }
    }

    /// Unpacks `source.entry` from `zip` to `target`, checking what the source promises first.
    private static func unpack(_ zip: URL, _ source: CorpusSource, to target: URL,
                               progress: ((CorpusProgress) -> Void)?) throws {
        let archive = try ZipArchive(zip)
        guard let entry = archive.entry(named: source.entry) else {
            let names = archive.entries.prefix(10).map(\.name).joined(separator: ", ")
            throw LoomError.invalidData("\(zip.path) does not contain '\(source.entry)' (it holds: "
                                        + (names.isEmpty ? "nothing" : names) + "); not the \(source.name) zip?")
        }
        if let expected = source.unpackedSize, entry.uncompressedSize != expected {
            throw LoomError.invalidData("\(zip.path): '\(source.entry)' is \(bytes(entry.uncompressedSize)), "
                                        + "expected \(bytes(expected)); not the \(source.name) zip?")
        }
        if let expected = source.crc32, entry.crc32 != expected {
            throw LoomError.invalidData("\(zip.path): '\(source.entry)' has CRC-32 \(ZipArchive.hex(entry.crc32)), "
                                        + "expected \(ZipArchive.hex(expected)); not the \(source.name) zip?")
        }
        try archive.extract(source.entry, to: target) { done, total in
            progress?(.unpacking(bytesSoFar: done, totalBytes: total))
        }
    }

    private static func isComplete(_ url: URL, _ source: CorpusSource) -> Bool {
        guard let size = fileSize(url) else { return false }
        return source.unpackedSize.map { size == $0 } ?? true
    }

    /// The size of a regular file, nil when there is none.
    private static func fileSize(_ url: URL) -> Int? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
              attributes[.type] as? FileAttributeType == .typeRegular,
              let size = attributes[.size] as? NSNumber else { return nil }
        return size.intValue
    }

    /// "31,344,016 bytes".
    static func bytes(_ n: Int) -> String {
        let digits = Array(String(n.magnitude))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return (n < 0 ? "-" : "") + out + (n == 1 ? " byte" : " bytes")
    }

    private static func megabytes(_ n: Int) -> String { "\(Int((Double(n) / 1e6).rounded())) MB" }

    private static func host(of url: String) -> String {
        URL(string: url)?.host ?? url
    }
}
