#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Loom
@testable import LoomData
import XCTest
import ZIPFoundation

// `loom corpus download`, offline: a tiny HTTP server on 127.0.0.1 serves zips this file builds
// (deflated with ZIPFoundation's zlib), and the downloader, the zip reader and the corpus catalog
// are run against it.

final class DownloadTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("loom-download-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// Some 300 KB of words: more than one read and inflate buffer.
    private static let corpus: [UInt8] = {
        let words = ["anarchism", "originated", "as", "a", "term", "of", "abuse", "first", "used", "against",
                     "early", "working", "class", "radicals", "including", "the", "diggers", "english", "revolution"]
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        var text: [UInt8] = []
        while text.count < 300_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            text += Array(words[Int(state >> 33) % words.count].utf8)
            text.append(UInt8(ascii: " "))
        }
        return text
    }()
    private static let readme = Array("a stored entry\n".utf8)
    private static let zip = TestZip.make([
        .init(name: "README", data: readme, deflate: false),
        .init(name: "tiny.txt", data: corpus, deflate: true),
    ])

    private func source(_ url: String, zipSize: Int? = DownloadTests.zip.count) -> CorpusSource {
        CorpusSource(name: "tiny", url: url, zipSize: zipSize, entry: "tiny.txt", unpackedSize: Self.corpus.count)
    }

    private func contents(_ url: URL) -> [UInt8]? { (try? Data(contentsOf: url)).map { [UInt8]($0) } }

    private func files(in directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }

    // MARK: End to end

    func testDownloadUnpackAndSecondCallIsANoOp() throws {
        let server = try TestHTTPServer([
            "/start": .redirect(302, to: "files/tiny.zip"),                 // relative
            "/files/tiny.zip": .redirect(301, to: "/mirror/tiny.zip"),      // absolute path
            "/mirror/tiny.zip": .content(Self.zip),
        ])
        defer { server.stop() }
        let source = source(server.base + "/start")
        var events: [CorpusProgress] = []
        let url = try CorpusCatalog.download(source, cacheDirectory: folder) { events.append($0) }

        XCTAssertEqual(url, folder.appendingPathComponent("corpora/tiny"))
        XCTAssertEqual(contents(url), Self.corpus)
        XCTAssertEqual(files(in: folder.appendingPathComponent("corpora")), ["tiny"], "the zip is deleted, no temporaries")
        XCTAssertEqual(server.paths, ["/start", "/files/tiny.zip", "/mirror/tiny.zip"])
        XCTAssertEqual(events.first, .downloading(bytesSoFar: 0, totalBytes: Self.zip.count))
        XCTAssertTrue(events.contains(.downloading(bytesSoFar: Self.zip.count, totalBytes: Self.zip.count)))
        XCTAssertEqual(events.last, .unpacking(bytesSoFar: Self.corpus.count, totalBytes: Self.corpus.count))
        XCTAssertTrue(CorpusCatalog.isCached(source, cacheDirectory: folder))
        XCTAssertEqual(try CorpusCatalog.resolve("tiny", cacheDirectory: folder, sources: [source]), url)

        events = []
        XCTAssertEqual(try CorpusCatalog.download(source, cacheDirectory: folder) { events.append($0) }, url)
        XCTAssertEqual(server.paths.count, 3, "a cached corpus is not fetched again")
        XCTAssertEqual(events, [])
    }

    func testChunkedAndUntilCloseBodies() throws {
        let body = Array(Self.corpus.prefix(100_000))
        let server = try TestHTTPServer([
            "/chunked": .chunked(body, chunkSize: 7_777),
            "/plain": .untilClose(body),
        ])
        defer { server.stop() }
        for path in ["/chunked", "/plain"] {
            let file = folder.appendingPathComponent(String(path.dropFirst()))
            var last: (Int, Int?) = (0, 0)
            let result = try HTTPDownloader().download(server.base + path, to: file) { last = ($0, $1) }
            XCTAssertEqual(result, HTTPDownload(byteCount: body.count, url: server.base + path))
            XCTAssertEqual(contents(file), body, path)
            XCTAssertEqual(last.0, body.count)
            XCTAssertNil(last.1, "\(path) announces no total")
        }
    }

    // MARK: Checks

    func testSizeMismatchDeletesTheZip() throws {
        let server = try TestHTTPServer(["/tiny.zip": .content(Self.zip)])
        defer { server.stop() }
        let source = source(server.base + "/tiny.zip", zipSize: Self.zip.count + 1)
        let error = expectError(try CorpusCatalog.download(source, cacheDirectory: folder), .invalidData,
                                "\(CorpusCatalog.bytes(Self.zip.count))", "\(CorpusCatalog.bytes(Self.zip.count + 1))",
                                server.base + "/tiny.zip")
        XCTAssertNotNil(error)
        XCTAssertEqual(files(in: folder.appendingPathComponent("corpora")), [], "the bad zip is deleted")
    }

    func testCRCMismatch() throws {
        let damaged = TestZip.make([.init(name: "tiny.txt", data: Self.corpus, deflate: true, storedCRC: 0x1234_5678)])
        let server = try TestHTTPServer(["/damaged.zip": .content(damaged), "/tiny.zip": .content(Self.zip)])
        defer { server.stop() }
        expectError(try CorpusCatalog.download(source(server.base + "/damaged.zip", zipSize: damaged.count),
                                               cacheDirectory: folder),
                    .invalidData, "CRC-32 mismatch", "0x12345678")
        XCTAssertEqual(files(in: folder.appendingPathComponent("corpora")), [], "no corpus, and the zip is deleted")

        var expecting = source(server.base + "/tiny.zip")
        expecting.crc32 = 0xdead_beef
        expectError(try CorpusCatalog.download(expecting, cacheDirectory: folder), .invalidData,
                    "CRC-32", "expected 0xdeadbeef")
        XCTAssertEqual(files(in: folder.appendingPathComponent("corpora")), [])

        expecting.crc32 = TestZip.crc(Self.corpus)
        XCTAssertEqual(contents(try CorpusCatalog.download(expecting, cacheDirectory: folder)), Self.corpus)
    }

    // MARK: Network failures

    func testTruncatedBodiesLeaveNoFile() throws {
        let server = try TestHTTPServer([
            "/short": .truncated(Array(Self.zip.prefix(1000)), claimed: Self.zip.count),
            "/short-chunked": .chunked(Self.zip, chunkSize: 4096, cutAfter: 10_000),
        ])
        defer { server.stop() }
        let file = folder.appendingPathComponent("tiny.zip")
        expectError(try HTTPDownloader().download(server.base + "/short", to: file), .io,
                    server.base + "/short", "after 1000 of \(Self.zip.count) bytes", "truncated")
        expectError(try HTTPDownloader().download(server.base + "/short-chunked", to: file), .io,
                    server.base + "/short-chunked", "truncated")
        XCTAssertEqual(files(in: folder), [], "nothing under the final name, no temporary left over")
    }

    func testInterruptedDownloadKeepsThePreviousFile() throws {
        let server = try TestHTTPServer([
            "/short": .truncated(Array(Self.zip.prefix(1000)), claimed: Self.zip.count),
            "/stall": .stall,
            "/gone": .status(500),
        ])
        defer { server.stop() }
        let file = folder.appendingPathComponent("tiny.zip")
        let good = Array("the last good copy\n".utf8)
        try Data(good).write(to: file)
        expectError(try HTTPDownloader().download(server.base + "/short", to: file), .io, "truncated")
        expectError(try HTTPDownloader(timeout: 0.3).download(server.base + "/stall", to: file), .io, "within 0.3 s")
        expectError(try HTTPDownloader().download(server.base + "/gone", to: file), .io,
                    server.base + "/gone", "HTTP 500 Internal Server Error", "try again later")
        XCTAssertEqual(contents(file), good, "a failed download leaves the previous file as it was")
        XCTAssertEqual(files(in: folder), ["tiny.zip"], "and no temporary")
    }

    func testNotFound() throws {
        let server = try TestHTTPServer([:])
        defer { server.stop() }
        expectError(try HTTPDownloader().download(server.base + "/dc/missing.zip", to: folder.appendingPathComponent("m")),
                    .io, server.base + "/dc/missing.zip", "HTTP 404 Not Found")
        XCTAssertEqual(files(in: folder), [])
    }

    func testRedirectToHTTPSIsFollowed() throws {
        // The test server speaks plain HTTP only, so the TLS handshake that follows the redirect fails:
        // what matters is that the downloader went there and speaks TLS.
        let server = try TestHTTPServer(["/tiny.zip": .redirectToHTTPS("/dc/tiny.zip")])
        defer { server.stop() }
        let file = folder.appendingPathComponent("tiny.zip")
        expectError(try HTTPDownloader().download(server.base + "/tiny.zip", to: file), .io,
                    server.base + "/tiny.zip", "redirected to https://127.0.0.1:\(server.port)/dc/tiny.zip",
                    "secure (HTTPS) connection to 127.0.0.1:\(server.port) failed")
        XCTAssertEqual(files(in: folder), [])
    }

    func testHTTPS() throws {
        // openssl's test server with a certificate of its own: refused as untrusted, then fetched
        // once that certificate is named as an additional trust root.
        let openssl = URL(fileURLWithPath: "/usr/bin/openssl")
        guard FileManager.default.isExecutableFile(atPath: openssl.path) else {
            throw XCTSkip("no /usr/bin/openssl to run a TLS server with")
        }
        let site = folder.appendingPathComponent("site")
        try FileManager.default.createDirectory(at: site, withIntermediateDirectories: true)
        try Data(Self.zip).write(to: site.appendingPathComponent("tiny.zip"))
        let key = folder.appendingPathComponent("key.pem"), certificate = folder.appendingPathComponent("cert.pem")
        let make = Process()
        make.executableURL = openssl
        make.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.path, "-out", certificate.path,
                          "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        make.standardOutput = FileHandle.nullDevice
        make.standardError = FileHandle.nullDevice
        try make.run()
        make.waitUntilExit()
        XCTAssertEqual(make.terminationStatus, 0, "openssl req")
        let port = try TestHTTPServer.unusedPort()
        let server = Process()
        server.executableURL = openssl
        server.currentDirectoryURL = site
        server.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", certificate.path, "-key", key.path,
                            "-WWW", "-quiet"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        XCTAssertTrue(TestHTTPServer.waitUntilListening(port: port, seconds: 10), "openssl s_server did not start")
        let url = "https://127.0.0.1:\(port)/tiny.zip"
        let file = folder.appendingPathComponent("tiny.zip")
        let refused = expectError(try HTTPDownloader(timeout: 5).download(url, to: file), .io,
                                  "cannot download \(url)", "secure (HTTPS) connection to 127.0.0.1:\(port) failed")
        XCTAssertTrue(refused?.description.lowercased().contains("certificate") ?? false, "\(String(describing: refused))")
        XCTAssertFalse(FileManager.default.fileExists(atPath: file.path))

        let trusting = HTTPDownloader(timeout: 5, additionalTrustRoots: certificate)
        XCTAssertEqual(try trusting.download(url, to: file), HTTPDownload(byteCount: Self.zip.count, url: url))
        XCTAssertEqual(contents(file), Self.zip)
        let corpus = try CorpusCatalog.download(source(url), cacheDirectory: folder.appendingPathComponent("cache"),
                                                downloader: trusting)
        XCTAssertEqual(contents(corpus), Self.corpus)
        expectError(try HTTPDownloader(additionalTrustRoots: folder.appendingPathComponent("none.pem")).download(url, to: file),
                    .io, "none.pem")
    }

    func testBrokenResponsesAreErrors() throws {
        // Each closes the connection after these bytes. (FoundationNetworking's URLSession in Swift
        // 6.3.1 stops the whole process on the first two.)
        let server = try TestHTTPServer([
            "/half-header": .raw(Array("HTTP/1.1 200 OK\r\nContent-Le".utf8)),
            "/status-only": .raw(Array("HTTP/1.1 200 OK\r\n".utf8)),
            "/nothing": .raw([]),
            "/not-http": .raw(Array("hello there\r\n\r\n".utf8)),
        ])
        defer { server.stop() }
        for path in ["/half-header", "/status-only", "/nothing", "/not-http"] {
            let file = folder.appendingPathComponent("x")
            expectError(try HTTPDownloader(timeout: 5).download(server.base + path, to: file), .io,
                        "cannot download \(server.base + path): ")
        }
        XCTAssertEqual(files(in: folder), [])
    }

    func testConnectionRefused() throws {
        let port = try TestHTTPServer.unusedPort()
        let url = "http://127.0.0.1:\(port)/dc/text8.zip"
        expectError(try HTTPDownloader().download(url, to: folder.appendingPathComponent("t")), .io,
                    "cannot download \(url)", "cannot reach 127.0.0.1:\(port)", "connection refused")
        // Through the catalog, the message says what to do on a machine without access.
        expectError(try CorpusCatalog.download(source(url), cacheDirectory: folder), .io,
                    "connection refused", "download \(url) elsewhere, then run `loom corpus import tiny /path/to/text8.zip`")
        XCTAssertEqual(files(in: folder.appendingPathComponent("corpora")), [])
    }

    func testUnknownHost() throws {
        // .invalid never resolves (RFC 2606), with or without a network.
        expectError(try HTTPDownloader(timeout: 5).download("http://no-such-host.invalid/x.zip",
                                                            to: folder.appendingPathComponent("x")),
                    .io, "cannot reach no-such-host.invalid: host name not found")
    }

    func testUnusableURLs() throws {
        let file = folder.appendingPathComponent("x")
        expectError(try HTTPDownloader().download("ftp://example.invalid/x.zip", to: file), .invalidArgument,
                    "only http:// and https://")
        expectError(try HTTPDownloader().download("example.invalid/x.zip", to: file), .invalidArgument,
                    "not an absolute URL")
        expectError(try HTTPDownloader().download("http://", to: file), .invalidArgument, "no host name")
        expectError(try HTTPDownloader(timeout: 0).download("http://h/x", to: file), .invalidArgument, "timeout")
        XCTAssertEqual(files(in: folder), [])
    }

    func testStalledServerTimesOut() throws {
        let server = try TestHTTPServer(["/stall": .stall])
        defer { server.stop() }
        let start = Date()
        expectError(try HTTPDownloader(timeout: 0.3).download(server.base + "/stall", to: folder.appendingPathComponent("s")),
                    .io, server.base + "/stall", "did not send data within 0.3 s")
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
        XCTAssertEqual(files(in: folder), [])
    }

    func testConnectTimesOut() throws {
        // A listener that never accepts, its queue already full: Linux drops further SYNs, so the
        // connection hangs like one to a dead host (elsewhere it may connect and stall instead).
        let (listener, port) = try TestHTTPServer.openListener(backlog: 0)
        var fillers: [Int32] = []
        defer {
            for fd in fillers { _ = close(fd) }
            _ = close(listener)
        }
        for _ in 0..<4 { fillers.append(try TestHTTPServer.startConnecting(to: port)) }
        let start = Date()
        expectError(try HTTPDownloader(timeout: 0.3).download("http://127.0.0.1:\(port)/x", to: folder.appendingPathComponent("x")),
                    .io, "127.0.0.1:\(port)", "within 0.3 s")
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
    }

    func testRedirectLoopStops() throws {
        let server = try TestHTTPServer(["/loop": .redirect(307, to: "/loop")])
        defer { server.stop() }
        expectError(try HTTPDownloader().download(server.base + "/loop", to: folder.appendingPathComponent("l")),
                    .io, "more than 5 redirects")
        XCTAssertEqual(server.paths.count, 6)
    }

    // MARK: Local zips

    func testImportZipKeepsTheUsersFile() throws {
        let local = folder.appendingPathComponent("Downloads/tiny.zip")
        try FileManager.default.createDirectory(at: local.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(Self.zip).write(to: local)
        let cache = folder.appendingPathComponent("cache")
        var events: [CorpusProgress] = []
        let url = try CorpusCatalog.importZip(source("http://unused.invalid/tiny.zip"), from: local,
                                              cacheDirectory: cache) { events.append($0) }
        XCTAssertEqual(contents(url), Self.corpus)
        XCTAssertEqual(contents(local), Self.zip, "the user's zip stays")
        XCTAssertEqual(events.last, .unpacking(bytesSoFar: Self.corpus.count, totalBytes: Self.corpus.count))

        expectError(try CorpusCatalog.importZip(source("http://unused.invalid/tiny.zip", zipSize: 99), from: local,
                                                cacheDirectory: cache),
                    .invalidData, local.path, "not the right file")
        XCTAssertEqual(contents(local), Self.zip, "a wrong user's zip is not deleted")
        expectError(try CorpusCatalog.importZip(source("http://x/y.zip"), from: folder.appendingPathComponent("none.zip"),
                                                cacheDirectory: cache), .io, "none.zip")
        expectError(try CorpusCatalog.importZip("nosuchcorpus", from: local, cacheDirectory: cache),
                    .invalidArgument, "unknown corpus 'nosuchcorpus'", "text8")
    }

    func testZipEntriesAndStoredExtraction() throws {
        let file = folder.appendingPathComponent("a.zip")
        try Data(Self.zip).write(to: file)
        let archive = try ZipArchive(file)
        XCTAssertEqual(archive.entries.map(\.name), ["README", "tiny.txt"])
        XCTAssertEqual(archive.entries.map(\.method), [0, 8])
        XCTAssertEqual(archive.entries.map(\.uncompressedSize), [Self.readme.count, Self.corpus.count])
        XCTAssertLessThan(archive.entries[1].compressedSize, Self.corpus.count)
        let readme = folder.appendingPathComponent("out/README")
        let entry = try archive.extract("README", to: readme)
        XCTAssertEqual(entry.crc32, TestZip.crc(Self.readme))
        XCTAssertEqual(contents(readme), Self.readme)
        expectError(try archive.extract("nope", to: readme), .invalidData, "no entry 'nope'", "'README', 'tiny.txt'")
    }

    func testZip64Records() throws {
        let zip = TestZip.make([.init(name: "README", data: Self.readme, deflate: false),
                                .init(name: "tiny.txt", data: Self.corpus, deflate: true)], zip64: true)
        let file = folder.appendingPathComponent("64.zip")
        try Data(zip).write(to: file)
        let archive = try ZipArchive(file)
        XCTAssertEqual(archive.entries.map(\.name), ["README", "tiny.txt"])
        XCTAssertEqual(archive.entries.map(\.uncompressedSize), [Self.readme.count, Self.corpus.count])
        let out = folder.appendingPathComponent("tiny.txt")
        try archive.extract("tiny.txt", to: out)
        XCTAssertEqual(contents(out), Self.corpus)
    }

    func testCorruptZips() throws {
        func write(_ bytes: [UInt8], _ name: String) throws -> URL {
            let url = folder.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            return url
        }
        var rng = SystemRandomNumberGenerator()
        let random = (0..<5000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        expectError(try ZipArchive(try write(random, "random.zip")), .invalidData, "random.zip", "not a valid zip archive")
        expectError(try ZipArchive(try write([], "empty.zip")), .invalidData, "the file is empty")
        expectError(try ZipArchive(try write(Array(Self.zip.prefix(Self.zip.count / 2)), "half.zip")), .invalidData,
                    "half.zip", "truncated")
        expectError(try ZipArchive(try write(Array(Self.zip.dropLast()), "minus1.zip")), .invalidData, "minus1.zip")
        expectError(try ZipArchive(folder), .io, "not a regular file")

        // Damaged compressed data: found by zlib or by the CRC, and nothing is written.
        var damaged = Self.zip
        let readmeEnd = 30 + "README".utf8.count + Self.readme.count
        for i in stride(from: readmeEnd + 200, to: readmeEnd + 400, by: 3) { damaged[i] ^= 0x5a }
        let out = folder.appendingPathComponent("out.txt")
        expectError(try ZipArchive(try write(damaged, "damaged.zip")).extract("tiny.txt", to: out), .invalidData,
                    "entry 'tiny.txt' is damaged")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))

        // A size that disagrees with the data.
        let lying = TestZip.make([.init(name: "t", data: Self.readme, deflate: true, storedSize: Self.readme.count - 1)])
        expectError(try ZipArchive(try write(lying, "lying.zip")).extract("t", to: out), .invalidData, "more than")

        let bzip2 = TestZip.make([.init(name: "t", data: Self.readme, deflate: false, method: 12)])
        expectError(try ZipArchive(try write(bzip2, "bzip2.zip")).extract("t", to: out), .unsupported, "bzip2")

        var claims64 = Self.zip
        for i in 8..<12 { claims64[claims64.count - 22 + i] = 0xff }  // both entry counts
        expectError(try ZipArchive(try write(claims64, "claims64.zip")), .invalidData, "ZIP64")
        var split = Self.zip
        split[split.count - 22 + 4] = 1
        expectError(try ZipArchive(try write(split, "split.zip")), .unsupported, "split")

        let cache = folder.appendingPathComponent("cache")
        expectError(try CorpusCatalog.importZip(source("http://x/y.zip", zipSize: nil),
                                                from: try write(random, "random2.zip"), cacheDirectory: cache),
                    .invalidData, "not a valid zip archive")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        XCTAssertEqual(files(in: cache.appendingPathComponent("corpora")), [])
    }

    func testSizeGuards() throws {
        let out = folder.appendingPathComponent("out/entry.txt")
        // An entry that declares 10^15 bytes (in its ZIP64 fields) is refused before anything is written.
        let huge = TestZip.make([.init(name: "huge.txt", data: Self.readme, deflate: true,
                                       storedSize: 1_000_000_000_000_000)], zip64: true)
        let hugeURL = folder.appendingPathComponent("huge.zip")
        try Data(huge).write(to: hugeURL)
        let archive = try ZipArchive(hugeURL)
        XCTAssertEqual(archive.entries.first?.uncompressedSize, 1_000_000_000_000_000)
        var calls = 0
        expectError(try archive.extract("huge.txt", to: out) { _, _ in calls += 1 }, .io,
                    "huge.zip: entry 'huge.txt' unpacks to 1,000,000,000,000,000 bytes", "free on the file system of",
                    "nothing was written")
        XCTAssertEqual(calls, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.deletingLastPathComponent().path), "not even its folder")

        // A zip bomb: 8 MiB of zeros deflate to some 8 KB, and the entry claims 1000 bytes.
        let bomb = TestZip.make([.init(name: "bomb", data: [UInt8](repeating: 0, count: 8 << 20), deflate: true,
                                       storedSize: 1000)])
        XCTAssertLessThan(bomb.count, 20_000)
        let bombURL = folder.appendingPathComponent("bomb.zip")
        try Data(bomb).write(to: bombURL)
        var most = 0
        expectError(try ZipArchive(bombURL).extract("bomb", to: out) { done, _ in most = max(most, done) }, .invalidData,
                    "bomb.zip: entry 'bomb' is damaged", "more than the 1000 bytes", "zip bomb")
        XCTAssertLessThanOrEqual(most, 1000, "it stops at the declared size")
        XCTAssertEqual(files(in: out.deletingLastPathComponent()), [], "no file, no temporary")
    }

    func testFailedExtractionKeepsThePreviousFile() throws {
        let out = folder.appendingPathComponent("tiny.txt")
        let good = Array("the last good copy\n".utf8)
        try Data(good).write(to: out)
        let damaged = TestZip.make([.init(name: "tiny.txt", data: Self.corpus, deflate: true, storedCRC: 0x1234_5678)])
        let url = folder.appendingPathComponent("damaged.zip")
        try Data(damaged).write(to: url)
        expectError(try ZipArchive(url).extract("tiny.txt", to: out), .invalidData, "damaged.zip", "CRC-32 mismatch",
                    "0x12345678")
        XCTAssertEqual(contents(out), good)
        XCTAssertEqual(files(in: folder), ["damaged.zip", "tiny.txt"], "no temporary left")
    }

    func testDeflateStreamsThatRunPastTheirEntryStop() throws {
        // "endless": a stored block that announces 65,535 bytes and brings 3, in a 1 MB entry.
        // ZIPFoundation's own Archive.extract (0.9.20, Linux) reads on to the end of the file and
        // loops there forever on this. "cut": the first 1000 bytes of a longer stream.
        let zip = TestZip.make([
            .init(name: "endless", data: [], deflate: true, storedSize: 1_000_000,
                  payload: [0x00, 0xff, 0xff, 0x00, 0x00, 1, 2, 3]),
            .init(name: "cut", data: Self.corpus, deflate: true, payload: Array(TestZip.deflate(Self.corpus).prefix(1000))),
        ])
        let url = folder.appendingPathComponent("runs-on.zip")
        try Data(zip).write(to: url)
        for name in ["endless", "cut"] {
            let out = folder.appendingPathComponent(name)
            let done = DispatchSemaphore(value: 0)
            let box = ResultBox()
            Thread {
                box.result = Result { try ZipArchive(url).extract(name, to: out) }
                done.signal()
            }.start()
            guard done.wait(timeout: .now() + 30) == .success else { return XCTFail("extracting '\(name)' does not stop") }
            expectError(try XCTUnwrap(box.result).get(), .invalidData, "runs-on.zip: entry '\(name)' is damaged")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        }
        XCTAssertEqual(files(in: folder), ["runs-on.zip"])
    }

    func testReadsArchivesZIPFoundationWrites() throws {
        let url = folder.appendingPathComponent("written.zip")
        let members: [(String, [UInt8], CompressionMethod)] = [("corpus.txt", Self.corpus, .deflate),
                                                               ("README", Self.readme, .none)]
        do {
            let writer = try ZIPFoundation.Archive(url: url, accessMode: .create)
            for (name, data, method) in members {
                try writer.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count),
                                    compressionMethod: method) { position, size in
                    Data(data[Int(position)..<(Int(position) + size)])
                }
            }
        }
        let archive = try ZipArchive(url)
        XCTAssertEqual(archive.entries.map(\.name), ["corpus.txt", "README"])
        XCTAssertEqual(archive.entries.map(\.method), [8, 0])
        for (name, data, _) in members {
            let out = folder.appendingPathComponent("out/" + name)
            let entry = try archive.extract(name, to: out)
            XCTAssertEqual(entry.crc32, TestZip.crc(data))
            XCTAssertEqual(contents(out), data, name)
        }
    }

    // MARK: Names and URLs

    func testResolve() throws {
        let source = CorpusSource(name: "tiny", url: "http://example.invalid/tiny.zip", zipSize: 2_000_000,
                                  entry: "tiny.txt", unpackedSize: 10)
        expectError(try CorpusCatalog.resolve("tiny", cacheDirectory: folder, sources: [source]), .io,
                    "run `loom corpus download tiny` (2 MB from example.invalid)")
        expectError(try CorpusCatalog.resolve("text8", cacheDirectory: folder), .io,
                    "run `loom corpus download text8` (31 MB from mattmahoney.net)")
        let cached = CorpusCatalog.cachedURL(for: source, cacheDirectory: folder)
        try FileManager.default.createDirectory(at: cached.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("short".utf8).write(to: cached)
        expectError(try CorpusCatalog.resolve("tiny", cacheDirectory: folder, sources: [source]), .invalidData,
                    "incomplete or damaged", "loom corpus download tiny")
        try Data("0123456789".utf8).write(to: cached)
        XCTAssertEqual(try CorpusCatalog.resolve("tiny", cacheDirectory: folder, sources: [source]), cached)

        XCTAssertEqual(try CorpusCatalog.resolve(cached.path, cacheDirectory: folder), cached)
        expectError(try CorpusCatalog.resolve(folder.path + "/nothing.txt"), .io, "no corpus file at", "text8")
        expectError(try CorpusCatalog.resolve(folder.path), .invalidArgument, "is a folder")

        XCTAssertEqual(CorpusSource.text8.url, "http://mattmahoney.net/dc/text8.zip")
        XCTAssertEqual(CorpusSource.text8.zipSize, 31_344_016)
        XCTAssertEqual(CorpusSource.text8.unpackedSize, 100_000_000)
        XCTAssertEqual(CorpusCatalog.cachedURL(for: .text8, cacheDirectory: folder).path, folder.path + "/corpora/text8")
    }

    // MARK: Helpers

    private enum Kind { case io, invalidData, unsupported, invalidArgument }

    /// Asserts that `body` throws a `LoomError` of `kind` whose message contains every fragment.
    @discardableResult
    private func expectError<T>(_ body: @autoclosure () throws -> T, _ kind: Kind, _ fragments: String...,
                                file: StaticString = #filePath, line: UInt = #line) -> LoomError? {
        do {
            _ = try body()
            XCTFail("expected an error", file: file, line: line)
            return nil
        } catch let error as LoomError {
            let actual: Kind?
            switch error {
            case .io: actual = .io
            case .invalidData: actual = .invalidData
            case .unsupported: actual = .unsupported
            case .invalidArgument: actual = .invalidArgument
            default: actual = nil
            }
            XCTAssertEqual(actual, kind, "\(error)", file: file, line: line)
            for fragment in fragments where !error.description.contains(fragment) {
                XCTFail("'\(error)' does not mention '\(fragment)'", file: file, line: line)
            }
            return error
        } catch {
            XCTFail("expected a LoomError, got \(error)", file: file, line: line)
            return nil
        }
    }
}

// MARK: - A zip writer (stored and raw-deflated entries)

enum TestZip {
    struct File {
        var name: String
        var data: [UInt8]
        var deflate: Bool
        /// Overrides, to make damaged archives.
        var storedCRC: UInt32? = nil
        var storedSize: Int? = nil
        var method: UInt16? = nil
        /// The entry's bytes as stored, instead of `data` (deflated or not).
        var payload: [UInt8]? = nil
    }

    /// A zip of `files`; `zip64` writes every size and offset in ZIP64 records, as `zip` does when
    /// it writes to a pipe or past 4 GiB.
    static func make(_ files: [File], zip64: Bool = false) -> [UInt8] {
        var out: [UInt8] = [], directory: [UInt8] = []
        let saturated = le(0xFFFF_FFFF as UInt32)
        for f in files {
            let payload = f.payload ?? (f.deflate ? deflate(f.data) : f.data)
            let method = f.method ?? (f.deflate ? 8 : 0)
            let crc = f.storedCRC ?? crc(f.data)
            let name = Array(f.name.utf8)
            let size = f.storedSize ?? f.data.count
            let offset = out.count
            let sizes = zip64 ? saturated + saturated : le(UInt32(payload.count)) + le(UInt32(size))
            let localExtra = zip64 ? le(1 as UInt16) + le(16 as UInt16) + le(UInt64(size)) + le(UInt64(payload.count)) : []
            let centralExtra = zip64 ? le(1 as UInt16) + le(24 as UInt16) + le(UInt64(size)) + le(UInt64(payload.count))
                + le(UInt64(offset)) : []
            // Local header: signature, version, flags, method, time, date, CRC, sizes, name and extra lengths.
            out += le(0x0403_4b50 as UInt32) + le(45 as UInt16) + le(0 as UInt16) + le(method) + le(0 as UInt16)
                + le(0x21 as UInt16) + le(crc) + sizes
                + le(UInt16(name.count)) + le(UInt16(localExtra.count)) + name + localExtra + payload
            // Central header: the same plus comment length, disk, attributes and the local header's offset.
            directory += le(0x0201_4b50 as UInt32) + le(45 as UInt16) + le(45 as UInt16) + le(0 as UInt16) + le(method)
                + le(0 as UInt16) + le(0x21 as UInt16) + le(crc) + sizes
                + le(UInt16(name.count)) + le(UInt16(centralExtra.count)) + le(0 as UInt16) + le(0 as UInt16)
                + le(0 as UInt16) + le(0 as UInt32) + (zip64 ? saturated : le(UInt32(offset))) + name + centralExtra
        }
        let directoryOffset = out.count
        out += directory
        if zip64 {
            let recordOffset = out.count
            out += le(0x0606_4b50 as UInt32) + le(44 as UInt64) + le(45 as UInt16) + le(45 as UInt16)
                + le(0 as UInt32) + le(0 as UInt32) + le(UInt64(files.count)) + le(UInt64(files.count))
                + le(UInt64(directory.count)) + le(UInt64(directoryOffset))
            out += le(0x0706_4b50 as UInt32) + le(0 as UInt32) + le(UInt64(recordOffset)) + le(1 as UInt32)
            out += le(0x0605_4b50 as UInt32) + le(0 as UInt16) + le(0 as UInt16) + le(0xFFFF as UInt16)
                + le(0xFFFF as UInt16) + saturated + saturated + le(0 as UInt16)
        } else {
            out += le(0x0605_4b50 as UInt32) + le(0 as UInt16) + le(0 as UInt16) + le(UInt16(files.count))
                + le(UInt16(files.count)) + le(UInt32(directory.count)) + le(UInt32(directoryOffset)) + le(0 as UInt16)
        }
        return out
    }

    static func crc(_ data: [UInt8]) -> UInt32 { Data(data).crc32(checksum: 0) }

    /// Raw deflate (no zlib header), as zip stores it: ZIPFoundation's compressor.
    static func deflate(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        let source = Data(data)
        do {
            _ = try Data.compress(size: Int64(source.count), bufferSize: 64 * 1024, provider: { position, size in
                source.subdata(in: Int(position)..<(Int(position) + size))
            }, consumer: { out += $0 })
        } catch {
            return []
        }
        return out
    }

    private static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
}

// MARK: - A one-thread HTTP/1.1 server on 127.0.0.1

/// Serves canned replies by path, one connection at a time, on an ephemeral port; unknown paths get
/// a 404. `stop()` ends the thread and closes the socket.
final class TestHTTPServer {
    enum Reply {
        /// 200 with a Content-Length.
        case content([UInt8])
        /// 200, chunked; `cutAfter` closes the connection after that many body bytes.
        case chunked([UInt8], chunkSize: Int, cutAfter: Int? = nil)
        /// 200 with no length: the body ends when the connection closes.
        case untilClose([UInt8])
        case redirect(Int, to: String)
        /// A Content-Length of `claimed`, fewer bytes, then close.
        case truncated([UInt8], claimed: Int)
        /// Headers and a few bytes, then silence until the client hangs up (at most 5 s).
        case stall
        /// A 301 to this path at this server's port, with https://.
        case redirectToHTTPS(String)
        /// That status with a short body.
        case status(Int)
        /// These bytes, then close.
        case raw([UInt8])
    }

    let port: Int
    var base: String { "http://127.0.0.1:\(port)" }
    private let listener: Int32
    private let routes: [String: Reply]
    private let lock = NSLock()
    private var requested: [String] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    /// The paths requested so far, in order.
    var paths: [String] { lock.withLock { requested } }

    init(_ routes: [String: Reply]) throws {
        self.routes = routes
        (listener, port) = try Self.openListener(backlog: 16)
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.start()
    }

    func stop() {
        lock.withLock { stopping = true }
        _ = finished.wait(timeout: .now() + 10)
        _ = close(listener)
    }

    /// A port on 127.0.0.1 where nothing listens (bound, read and released).
    static func unusedPort() throws -> Int {
        let (fd, port) = try openListener(backlog: 1)
        _ = close(fd)
        return port
    }

    /// A socket listening on 127.0.0.1 at an ephemeral port.
    static func openListener(backlog: Int32) throws -> (Int32, Int) {
        let fd = try tcpSocket()
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, backlog) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            _ = close(fd)
            throw LoomError.io("test server: bind/listen failed: \(String(cString: strerror(errno)))")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Whether something accepts connections on `port` of 127.0.0.1 within `seconds`.
    static func waitUntilListening(port: Int, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard let fd = try? tcpSocket() else { return false }
            var address = loopback(port: port)
            let connected = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            _ = close(fd)
            if connected { return true }
            usleep(50_000)
        }
        return false
    }

    /// A non-blocking socket whose connection to `port` on 127.0.0.1 is under way.
    static func startConnecting(to port: Int) throws -> Int32 {
        let fd = try tcpSocket()
        guard fcntl(fd, F_SETFL, O_NONBLOCK) == 0 else {
            _ = close(fd)
            throw LoomError.io("test server: fcntl failed")
        }
        var address = loopback(port: port)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))  // EINPROGRESS is expected
            }
        }
        return fd
    }

    private static func tcpSocket() throws -> Int32 {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw LoomError.io("test server: socket failed: \(String(cString: strerror(errno)))") }
        return fd
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func serve() {
        while !lock.withLock({ stopping }) {
            var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 20) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            handle(client)
            _ = close(client)
        }
    }

    private func handle(_ client: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        _ = setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        #if canImport(Darwin)
        var one: Int32 = 1
        _ = setsockopt(client, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while request.count < 65536, !request.ends(with: Array("\r\n\r\n".utf8)) {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return }
            request += buffer[0..<n]
        }
        let line = String(decoding: request.prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count == 3 else { return }
        let path = String(parts[1])
        lock.withLock { requested.append(path) }

        #if canImport(Glibc)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let flags: Int32 = 0
        #endif
        func reply(_ text: String) { reply(Array(text.utf8)) }
        func reply(_ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { raw -> Int in
                    guard let base = raw.baseAddress else { return 0 }
                    return send(client, base + offset, raw.count - offset, flags)
                }
                guard n > 0 else { return }
                offset += n
            }
        }
        switch routes[path] {
        case nil:
            reply("HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n")
        case let .content(body)?:
            reply("HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: \(body.count)\r\n"
                 + "Connection: close\r\n\r\n")
            reply(body)
        case let .chunked(body, size, cut)?:
            reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            var offset = 0
            while offset < body.count {
                let piece = body[offset..<min(offset + size, body.count)]
                reply(String(piece.count, radix: 16) + (offset == 0 ? ";name=value" : "") + "\r\n")
                if let cut, offset + piece.count > cut {
                    reply(Array(piece.prefix(cut - offset)))
                    return
                }
                reply(Array(piece))
                reply("\r\n")
                offset += piece.count
            }
            reply("0\r\nX-Checksum: none\r\n\r\n")
        case let .untilClose(body)?:
            reply("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            reply(body)
        case let .redirect(status, location)?:
            reply("HTTP/1.1 \(status) Moved\r\nLocation: \(location)\r\nContent-Length: 0\r\n\r\n")
        case let .truncated(body, claimed)?:
            reply("HTTP/1.1 200 OK\r\nContent-Length: \(claimed)\r\n\r\n")
            reply(body)
        case .stall?:
            reply("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
            var entry = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            _ = poll(&entry, 1, 5000)
        case let .redirectToHTTPS(target)?:
            reply("HTTP/1.1 301 Moved\r\nLocation: https://127.0.0.1:\(port)\(target)\r\nContent-Length: 0\r\n\r\n")
        case let .status(code)?:
            reply("HTTP/1.1 \(code) Something\r\nContent-Length: 5\r\nConnection: close\r\n\r\noops\n")
        case let .raw(bytes)?:
            reply(bytes)
        }
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}

/// A result handed from a worker thread to the test, after a semaphore.
private final class ResultBox: @unchecked Sendable {
    var result: Result<ZipEntry, Error>?
}
