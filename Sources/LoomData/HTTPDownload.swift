import Foundation
import LoomCore

/// Fetches a file over plain HTTP/1.1 into a local file — just enough of HTTP to download a
/// corpus, on POSIX sockets, with no dependency on libcurl.
///
/// ```swift
/// let result = try HTTPDownloader().download("http://mattmahoney.net/dc/text8.zip", to: zipURL) { done, total in
///     print(done, total ?? -1)
/// }
/// ```
///
/// - The request is a `GET` with `Host`, `User-Agent` and `Connection: close`; the body may come
///   with a `Content-Length`, chunked, or run until the server closes the connection.
/// - Up to `maxRedirects` redirects (301, 302, 303, 307, 308) are followed, relative or absolute.
/// - The body streams to the file through `AtomicFileWriter`: until the last byte has arrived and
///   checked out nothing appears under the final name, so an interrupted download leaves no half
///   file behind.
/// - `https://` (asked for, or redirected to) is a `LoomError.unsupported` saying how to go on.
///   Every other failure — no network, unknown host, connection refused, a stalled connection, an
///   HTTP error status, a body shorter than its `Content-Length` — is a `LoomError.io` naming the
///   URL and the reason.
public struct HTTPDownloader: Sendable {
    /// Called with the bytes received so far and the total when the server announced it.
    public typealias Progress = (_ bytesSoFar: Int, _ totalBytes: Int?) -> Void

    /// Seconds to wait for a connection, and then for each piece of data (not for the whole file).
    public var timeout: Double
    /// How many redirects to follow before giving up.
    public var maxRedirects: Int
    public var userAgent: String
    /// What the HTTPS error tells the user to do once they have fetched the file themselves;
    /// completes "Download URL yourself (…), then …". The corpus catalog names its import command.
    public var afterManualDownload: String

    public init(timeout: Double = 30, maxRedirects: Int = 5, userAgent: String = "Loom/1.0",
                afterManualDownload: String = "use the local copy") {
        self.timeout = timeout
        self.maxRedirects = maxRedirects
        self.userAgent = userAgent
        self.afterManualDownload = afterManualDownload
    }

    /// Downloads `url` to `destination` (replacing it only once the whole body has arrived).
    @discardableResult
    public func download(_ url: String, to destination: URL, progress: Progress? = nil) throws -> HTTPDownload {
        guard timeout > 0, maxRedirects >= 0, !userAgent.contains(where: { $0.isNewline }) else {
            throw LoomError.invalidArgument("HTTPDownloader: the timeout must be positive, maxRedirects not "
                                            + "negative, and the user agent one line")
        }
        var location: HTTPLocation
        do {
            location = try HTTPLocation.parse(url)
        } catch let failure as HTTPLocation.Failure {
            throw error(failure, asking: url, redirectedTo: nil)
        }
        var redirects = 0
        while true {
            let outcome: Outcome
            do {
                outcome = try fetch(location, to: destination, progress: progress)
            } catch let failure as TransferFailure {
                throw LoomError.io("cannot download \(Self.context(url, location)): \(failure.reason)")
            }
            switch outcome {
            case let .saved(count):
                return HTTPDownload(byteCount: count, url: location.description)
            case let .redirect(target):
                redirects += 1
                guard redirects <= maxRedirects else {
                    throw LoomError.io("cannot download \(url): more than \(maxRedirects) redirects "
                                       + "(the last one to \(target)); is the server misconfigured?")
                }
                do {
                    location = try location.resolving(target)
                } catch let failure as HTTPLocation.Failure {
                    throw error(failure, asking: url, redirectedTo: target)
                }
            }
        }
    }

    private enum Outcome {
        case saved(Int)
        case redirect(String)
    }

    /// One request: saves the body of a 200, returns the target of a redirect, throws otherwise.
    private func fetch(_ location: HTTPLocation, to destination: URL, progress: Progress?) throws -> Outcome {
        let connection = try TCPConnection(host: location.host, port: location.port, timeout: timeout)
        let request = "GET \(location.target) HTTP/1.1\r\n"
            + "Host: \(location.authority)\r\n"
            + "User-Agent: \(userAgent)\r\n"
            + "Accept: */*\r\n"
            + "Accept-Encoding: identity\r\n"
            + "Connection: close\r\n\r\n"
        try connection.write(Array(request.utf8))
        let reader = HTTPResponseReader(connection)

        var head = try reader.head()
        var interim = 0
        while (100...199).contains(head.status) && head.status != 101 && interim < 8 {
            head = try reader.head()  // 100 Continue, 103 Early Hints: the real answer follows
            interim += 1
        }
        switch head.status {
        case 200:
            break
        case 301, 302, 303, 307, 308:
            guard let target = head["location"], !target.isEmpty else {
                throw TransferFailure("the server answered \(head.statusText) without saying where to")
            }
            return .redirect(target)
        default:
            throw TransferFailure("the server answered \(head.statusText)\(Self.hint(head.status))")
        }

        let framing = try head.framing()
        var total: Int?
        if case let .length(n) = framing { total = n }
        let out = try AtomicFileWriter(destination)
        var received = 0
        progress?(0, total)
        try reader.body(framing) { chunk in
            try out.write(chunk)
            received += chunk.count
            progress?(received, total)
        }
        try out.commit()
        return .saved(received)
    }

    // MARK: Messages

    private func error(_ failure: HTTPLocation.Failure, asking url: String, redirectedTo target: String?) -> LoomError {
        switch failure {
        case .https:
            let https = target ?? url
            let why = target.map { "the server redirects to \($0), and HTTPS" } ?? "HTTPS"
            return .unsupported("cannot download \(url): \(why) is not supported by Loom's built-in downloader "
                                + "(it speaks plain HTTP only). Download \(https) yourself (a browser, "
                                + "`curl -LO \(https)` or `wget \(https)`), then \(afterManualDownload).")
        case let .invalid(reason):
            if let target {
                return .io("cannot download \(url): the server redirects to '\(target)', which is unusable: \(reason)")
            }
            return .invalidArgument("cannot download '\(url)': \(reason)")
        }
    }

    private static func context(_ asked: String, _ location: HTTPLocation) -> String {
        let now = location.description
        return now == asked ? asked : "\(asked) (redirected to \(now))"
    }

    private static func hint(_ status: Int) -> String {
        switch status {
        case 404, 410: return " (the file is not there; has it moved?)"
        case 401, 403: return " (the server refuses access)"
        case 500...599: return " (a problem on the server; try again later)"
        default: return ""
        }
    }
}

/// What a finished download produced.
public struct HTTPDownload: Equatable, Sendable {
    /// Bytes written to the file.
    public var byteCount: Int
    /// The URL the file finally came from (after redirects).
    public var url: String
}

/// The status line and headers of a response.
struct HTTPResponseHead {
    var status: Int
    var reason: String
    /// Header names lower-cased, in arrival order.
    var headers: [(name: String, value: String)]

    var statusText: String { reason.isEmpty ? "HTTP \(status)" : "HTTP \(status) \(reason)" }

    /// The first value of a header (name in lower case).
    subscript(name: String) -> String? { headers.first { $0.name == name }?.value }

    /// How the body is delimited (RFC 9112 §6.3).
    func framing() throws -> HTTPBodyFraming {
        if let encoding = self["content-encoding"]?.lowercased(), !encoding.isEmpty, encoding != "identity" {
            throw TransferFailure("the server compressed the file (Content-Encoding: \(encoding)) although "
                                  + "none was asked for")
        }
        let transfer = headers.filter { $0.name == "transfer-encoding" }
            .flatMap { $0.value.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
        if !transfer.isEmpty {
            guard transfer.last == "chunked", transfer.allSatisfy({ $0 == "chunked" || $0 == "identity" }) else {
                throw TransferFailure("the server sent the body with Transfer-Encoding \(transfer.joined(separator: ", ")), "
                                      + "which Loom's downloader does not decode")
            }
            return .chunked
        }
        let lengths = headers.filter { $0.name == "content-length" }
            .flatMap { $0.value.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = lengths.first else { return .untilClose }
        guard first.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(first), lengths.allSatisfy({ $0 == first })
        else {
            throw TransferFailure("the server sent an invalid Content-Length (\(lengths.joined(separator: ", ")))")
        }
        return .length(n)
    }
}

enum HTTPBodyFraming: Equatable {
    case length(Int)
    case chunked
    case untilClose
}

/// Reads a response from a connection through a small buffer: lines for the head, then the body
/// in pieces handed to a sink.
final class HTTPResponseReader {
    private let connection: TCPConnection
    private let storage: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private static let maxLine = 16 * 1024
    private static let maxHeaders = 256

    init(_ connection: TCPConnection) {
        self.connection = connection
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Makes sure buffered bytes are available; false once the connection has closed.
    private func fill() throws -> Bool {
        if start < end { return true }
        start = 0
        end = try connection.receive(into: storage)
        return end > 0
    }

    /// The next line without its CRLF (or bare LF); nil when the connection closed before it began.
    func line() throws -> String? {
        var bytes: [UInt8] = []
        while true {
            guard try fill() else {
                if bytes.isEmpty { return nil }
                throw TransferFailure("the connection closed in the middle of a line")
            }
            let window = UnsafeRawBufferPointer(rebasing: storage[start..<end])
            if let newline = window.firstIndex(of: UInt8(ascii: "\n")) {
                bytes.append(contentsOf: window[..<newline])
                start += newline + 1  // a rebased window counts from 0
                if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
                return String(decoding: bytes, as: UTF8.self)
            }
            bytes.append(contentsOf: window)
            start = end
            guard bytes.count <= Self.maxLine else {
                throw TransferFailure("the server sent a line longer than \(Self.maxLine) bytes; not an HTTP server?")
            }
        }
    }

    /// The status line and headers.
    func head() throws -> HTTPResponseHead {
        guard let statusLine = try line() else {
            throw TransferFailure("the server closed the connection without answering")
        }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3,
              let status = Int(parts[1]), (100...599).contains(status) else {
            let shown = statusLine.prefix(60)
            throw TransferFailure("the server did not answer with HTTP/1.x (it said '\(shown)')")
        }
        var head = HTTPResponseHead(status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: [])
        while true {
            guard let text = try line() else {
                throw TransferFailure("the connection closed in the middle of the response headers")
            }
            if text.isEmpty { return head }
            guard head.headers.count < Self.maxHeaders else {
                throw TransferFailure("the server sent more than \(Self.maxHeaders) headers")
            }
            if let first = text.first, first == " " || first == "\t", !head.headers.isEmpty {
                head.headers[head.headers.count - 1].value += " " + text.trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let colon = text.firstIndex(of: ":") else {
                throw TransferFailure("the server sent a malformed header line '\(text.prefix(60))'")
            }
            head.headers.append((name: text[..<colon].trimmingCharacters(in: .whitespaces).lowercased(),
                                 value: text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
    }

    /// Hands up to `limit` buffered bytes to `sink`; returns how many (0 once the connection closed).
    private func read(atMost limit: Int, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        guard try fill() else { return 0 }
        let count = min(limit, end - start)
        try sink(UnsafeRawBufferPointer(rebasing: storage[start..<(start + count)]))
        start += count
        return count
    }

    /// Streams the body to `sink`.
    func body(_ framing: HTTPBodyFraming, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        switch framing {
        case let .length(total):
            var remaining = total
            while remaining > 0 {
                let n = try read(atMost: remaining, sink)
                guard n > 0 else {
                    throw TransferFailure("the connection closed after \(total - remaining) of \(total) bytes "
                                          + "(download truncated; try again)")
                }
                remaining -= n
            }
        case .untilClose:
            while try read(atMost: Int.max, sink) > 0 {}
        case .chunked:
            var received = 0
            func truncated() -> TransferFailure {
                TransferFailure("the connection closed in the middle of the body after \(received) bytes "
                                + "(download truncated; try again)")
            }
            while true {
                guard let sizeLine = try line() else { throw truncated() }
                let digits = (sizeLine.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                    .trimmingCharacters(in: .whitespaces)
                guard !digits.isEmpty, digits.count <= 15, let size = Int(digits, radix: 16), size >= 0 else {
                    throw TransferFailure("the server sent a malformed chunk size '\(sizeLine.prefix(40))'")
                }
                if size == 0 {
                    while let trailer = try line(), !trailer.isEmpty {}  // trailers carry nothing we need
                    return
                }
                var remaining = size
                while remaining > 0 {
                    let n = try read(atMost: remaining, sink)
                    guard n > 0 else { throw truncated() }
                    remaining -= n
                    received += n
                }
                guard let terminator = try line() else { throw truncated() }
                guard terminator.isEmpty else { throw TransferFailure("the server sent a malformed chunked body") }
            }
        }
    }
}
