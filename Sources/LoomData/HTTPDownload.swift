#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import AsyncHTTPClient
import Foundation
import LoomCore
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import NIOSSL

/// Fetches a file over HTTP or HTTPS into a local file, through async-http-client (SwiftNIO, TLS
/// by NIOSSL/BoringSSL, the system's certificate authorities).
///
/// ```swift
/// let result = try HTTPDownloader().download("https://example.org/dc/text8.zip", to: zipURL) { done, total in
///     print(done, total ?? -1)
/// }
/// ```
///
/// - One `GET`; up to `maxRedirects` redirects are followed (to `http://` or `https://`).
/// - The body streams to the file through `AtomicFileWriter` as it arrives; it is never held in
///   memory, and the next piece is read only once the last one is written. Until the last byte has
///   arrived and checked out nothing appears under the final name, so an interrupted download
///   leaves the previous file, if any, untouched and no half file behind.
/// - A body shorter than its `Content-Length`, or cut off inside a chunked body, is an error, as is
///   every other failure — no network, unknown host, connection refused, a connection that stays
///   silent for `timeout` seconds, a TLS failure, an HTTP status other than 200 — each a
///   `LoomError.io` naming the URL and the reason.
/// - The progress callback runs on the download's own thread, one call at a time, in order;
///   `download` returns after the last one.
///
/// FoundationNetworking's `URLSession` is not used: in Swift 6.3.1 on Linux it stops the process
/// (a `fatalError` in `_NativeProtocol.transferCompleted`) when a server closes the connection in
/// the middle of the response headers, or sends a chunked body with trailer fields.
package struct HTTPDownloader: Sendable {
    /// Called with the bytes received so far and the total when the server announced it.
    package typealias Progress = (_ bytesSoFar: Int, _ totalBytes: Int?) -> Void

    /// Seconds to wait for a connection, and then for each piece of data (not for the whole file).
    package var timeout: Double
    /// How many redirects to follow before giving up.
    package var maxRedirects: Int
    package var userAgent: String
    /// Appended to failures to reach the server, for a machine that is offline: completes
    /// "…; on a machine without access, download URL elsewhere, then …". The corpus catalog names
    /// its import command. Nil adds nothing.
    package var afterManualDownload: String?
    /// A PEM file of certificate authorities to trust for HTTPS besides the system's (a mirror
    /// behind a company's TLS proxy, a test server). Nil: the system's only.
    package var additionalTrustRoots: URL?

    package init(timeout: Double = 30, maxRedirects: Int = 5, userAgent: String = "Loom/1.0",
                afterManualDownload: String? = nil, additionalTrustRoots: URL? = nil) {
        self.timeout = timeout
        self.maxRedirects = maxRedirects
        self.userAgent = userAgent
        self.afterManualDownload = afterManualDownload
        self.additionalTrustRoots = additionalTrustRoots
    }

    /// Downloads `url` to `destination` (replacing it only once the whole body has arrived).
    @discardableResult
    package func download(_ url: String, to destination: URL, progress: Progress? = nil) throws -> HTTPDownload {
        guard timeout > 0, timeout <= 86_400, maxRedirects >= 0, !userAgent.contains(where: { $0.isNewline }) else {
            throw LoomError.invalidArgument("HTTPDownloader: the timeout must be positive (at most a day), "
                                            + "maxRedirects not negative, and the user agent one line")
        }
        let text = url.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let address = URL(string: text), let scheme = address.scheme?.lowercased() else {
            throw LoomError.invalidArgument("cannot download '\(url)': not an absolute URL (expected http://host/path "
                                            + "or https://host/path)")
        }
        guard scheme == "http" || scheme == "https" else {
            throw LoomError.invalidArgument("cannot download '\(url)': \(scheme):// URLs are not supported "
                                            + "(only http:// and https://)")
        }
        guard let host = address.host, !host.isEmpty else {
            throw LoomError.invalidArgument("cannot download '\(url)': no host name")
        }
        if let roots = additionalTrustRoots, !FileManager.default.isReadableFile(atPath: roots.path) {
            throw LoomError.io("cannot read the certificate authorities in \(roots.path): no such file")
        }

        let wait = TimeAmount.nanoseconds(Int64((timeout * 1e9).rounded()))
        var tls = TLSConfiguration.makeClientConfiguration()
        if let roots = additionalTrustRoots { tls.additionalTrustRoots = [.file(roots.path)] }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: maxRedirects == 0 ? .disallow : .follow(max: maxRedirects, allowCycles: true),
            timeout: .init(connect: wait, read: wait),
            decompression: .disabled)
        configuration.connectionPool.retryConnectionEstablishment = false  // one attempt, its own error

        // A thread of its own: the delegate writes to disk on it, which holds back the next read.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let client = HTTPClient(eventLoopGroup: group, configuration: configuration)
        defer {
            try? client.syncShutdown()
            try? group.syncShutdownGracefully()
        }
        var headers = HTTPHeaders()
        headers.add(name: "User-Agent", value: userAgent)
        headers.add(name: "Accept-Encoding", value: "identity")
        // A fresh connection for each request (redirects included), as a server may close one it
        // keeps alive at any time, and the client does not retry on another.
        headers.add(name: "Connection", value: "close")
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: address, method: .GET, headers: headers)
        } catch {
            throw LoomError.invalidArgument("cannot download '\(url)': \(error)")
        }
        let transfer = Transfer(address: address, destination: destination, maxRedirects: maxRedirects,
                                progress: progress)
        do {
            let saved = try client.execute(request: request, delegate: transfer, eventLoop: .indifferent)
                .futureResult.wait()
            return HTTPDownload(byteCount: saved, url: transfer.current.absoluteString)
        } catch {
            let (reason, reachable) = transfer.describe(error, seconds: Self.seconds(timeout))
            var message = "cannot download \(Self.context(text, transfer.current)): \(reason)"
            if !reachable, let next = afterManualDownload {
                message += "; on a machine without access, download \(text) elsewhere, then \(next)"
            }
            throw LoomError.io(message)
        }
    }

    private static func context(_ asked: String, _ final: URL) -> String {
        let now = final.absoluteString
        return now == asked ? asked : "\(asked) (redirected to \(now))"
    }

    static func seconds(_ t: Double) -> String {
        t == t.rounded() ? "\(Int(t)) s" : String(format: "%.1f s", t)
    }
}

/// What a finished download produced.
package struct HTTPDownload: Equatable, Sendable {
    /// Bytes written to the file.
    package var byteCount: Int
    /// The URL the file finally came from (after redirects).
    package var url: String
}

/// A failure the delegate found itself (a status, a write), in words; `reachable`: the server
/// answered, so a manual download would not help.
private struct TransferFailure: Error {
    let reason: String
    let reachable: Bool
}

/// One download: the client's delegate. async-http-client calls it on the request's event loop,
/// one call at a time; the downloader reads its state after the request's future has completed.
private final class Transfer: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = Int

    private(set) var current: URL
    private let destination: URL
    private let maxRedirects: Int
    private let progress: HTTPDownloader.Progress?
    private var writer: AtomicFileWriter?
    private var answered = false
    private var total: Int?
    private var received = 0
    /// Where the last redirect pointed (resolved against the URL that answered with it).
    private var lastLocation: String?

    init(address: URL, destination: URL, maxRedirects: Int, progress: HTTPDownloader.Progress?) {
        current = address
        self.destination = destination
        self.maxRedirects = maxRedirects
        self.progress = progress
    }

    func didVisitURL(task: HTTPClient.Task<Int>, _ request: HTTPClient.Request, _ head: HTTPResponseHead) {
        current = request.url
        // A redirect: that is where the next request goes, and what a failure there is reported against.
        if (300...399).contains(head.status.code), let location = head.headers.first(name: "Location") {
            let target = URL(string: location, relativeTo: request.url)?.absoluteURL
            lastLocation = target?.absoluteString ?? location
            if let target, ["http", "https"].contains(target.scheme?.lowercased() ?? "") { current = target }
        }
    }

    func didReceiveHead(task: HTTPClient.Task<Int>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        answered = true
        let code = Int(head.status.code)
        // The standard words for the code where there are some, else the server's.
        let standard = HTTPResponseStatus(statusCode: code).reasonPhrase
        let words = standard.isEmpty ? head.status.reasonPhrase : standard
        let status = "HTTP \(code)" + (words.isEmpty ? "" : " \(words)")
        switch code {
        case 200:
            break
        case 300...399:
            let target = head.headers.first(name: "Location") ?? "nowhere"
            let why = maxRedirects == 0 ? "it redirects (to \(target)), and following redirects is off"
                : "the server answered \(status) with no usable place to go (Location: \(target))"
            return task.eventLoop.makeFailedFuture(TransferFailure(reason: why, reachable: true))
        default:
            return task.eventLoop.makeFailedFuture(
                TransferFailure(reason: "the server answered \(status)\(Self.hint(code))", reachable: true))
        }
        // A Content-Length counts the bytes as sent; with a Content-Encoding they are not the file's.
        let encoding = head.headers.first(name: "Content-Encoding")?.lowercased() ?? "identity"
        let lengths = head.headers[canonicalForm: "Content-Length"]
        if encoding == "identity", let first = lengths.first, lengths.allSatisfy({ $0 == first }),
           let n = Int(first), n >= 0 {
            total = n
        }
        do {
            writer = try AtomicFileWriter(destination)
        } catch {
            return task.eventLoop.makeFailedFuture(TransferFailure(reason: "\(error)", reachable: true))
        }
        progress?(0, total)
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Int>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        guard let writer else { return task.eventLoop.makeSucceededVoidFuture() }
        do {
            try buffer.withUnsafeReadableBytes { try writer.write($0) }
        } catch {
            self.writer = nil
            return task.eventLoop.makeFailedFuture(TransferFailure(reason: "\(error)", reachable: true))
        }
        received += buffer.readableBytes
        progress?(received, total)
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveError(task: HTTPClient.Task<Int>, _ error: Error) {
        writer = nil  // removes the temporary file
    }

    func didFinishRequest(task: HTTPClient.Task<Int>) throws -> Int {
        defer { writer = nil }
        guard let writer else {
            throw TransferFailure(reason: "the server sent no body", reachable: true)
        }
        if let total, received != total {
            throw TransferFailure(reason: truncated(), reachable: true)
        }
        try writer.commit()
        return received
    }

    // MARK: Messages

    private func truncated() -> String {
        if let total { return "the connection closed after \(received) of \(total) bytes (download truncated; try again)" }
        return "the connection closed after \(received) bytes (download truncated; try again)"
    }

    /// A failed transfer in words, with the likely cause, and whether the server answered.
    func describe(_ error: Error, seconds: String) -> (String, Bool) {
        let place = Self.place(current)
        let isHTTPS = current.scheme?.lowercased() == "https"
        if let failure = error as? TransferFailure { return (failure.reason, failure.reachable) }
        if let loom = error as? LoomError { return (loom.description, true) }
        if let client = error as? HTTPClientError {
            switch client {
            case .readTimeout:
                if answered {
                    return ("\(place) did not send data within \(seconds) (connection stalled after \(received) bytes; "
                            + "is the network down?)", true)
                }
                return ("\(place) accepted the connection but did not answer within \(seconds)", false)
            case .connectTimeout, .tlsHandshakeTimeout, .deadlineExceeded:
                return ("cannot reach \(place): no answer within \(seconds) (no network connection, or a firewall?)", false)
            case .remoteConnectionClosed:
                return answered ? (truncated(), true) : ("the server closed the connection without answering", true)
            case .redirectLimitReached, .redirectCycleDetected:
                return ("more than \(maxRedirects) redirects (the last one to \(lastLocation ?? "?")); "
                        + "is the server misconfigured?", true)
            case .invalidURL, .emptyHost, .emptyScheme:
                return ("the server redirects to an unusable URL (\(lastLocation ?? "?"))", true)
            default:
                if answered { return ("the transfer broke after \(received) bytes (\(client)); try again", true) }
                return ("cannot reach \(place): \(client)", false)
            }
        }
        if let connection = error as? NIOConnectionError {
            if connection.connectionErrors.isEmpty, connection.dnsAError != nil || connection.dnsAAAAError != nil {
                return ("cannot reach \(current.host ?? place): host name not found (no network connection, or a typo "
                        + "in the name?)", false)
            }
            if let first = connection.connectionErrors.first {
                return ("cannot reach \(place): \(Self.explain(first.error))", false)
            }
            return ("cannot reach \(place): \(connection)", false)
        }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            return ("the secure (HTTPS) connection to \(place) failed: \(error)", false)
        }
        if case ChannelError.connectTimeout = error {
            return ("cannot reach \(place): no answer within \(seconds) (no network connection, or a firewall?)", false)
        }
        if answered {
            if error is HTTPParserError, total == nil || received < (total ?? 0) { return (truncated() + " (\(error))", true) }
            return ("the transfer broke after \(received) bytes: \(Self.explain(error)) (download truncated; try again)",
                    true)
        }
        if error is HTTPParserError { return ("the server's answer is not HTTP (\(error))", true) }
        if isHTTPS { return ("the secure (HTTPS) connection to \(place) failed: \(Self.explain(error))", false) }
        return ("cannot reach \(place): \(Self.explain(error))", false)
    }

    /// `host:port` (the port is always shown: it is often the point).
    private static func place(_ url: URL) -> String {
        let host = url.host ?? url.absoluteString
        let port = url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
        return (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }

    /// A system error in words, with the likely cause where there is one.
    private static func explain(_ error: Error) -> String {
        guard let io = error as? IOError else { return "\(error)" }
        switch io.errnoCode {
        case ECONNREFUSED: return "connection refused (nothing listens on that port; wrong port, or the server is down?)"
        case ENETUNREACH: return "network unreachable (no network connection?)"
        case EHOSTUNREACH: return "host unreachable (no network connection?)"
        case ETIMEDOUT: return "timed out (no network connection, or a firewall?)"
        case ECONNRESET: return "connection reset by the server"
        case EPIPE: return "the server closed the connection"
        default: return String(cString: strerror(io.errnoCode))
        }
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
