#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import LoomCore

/// Why a transfer failed, in words for the person at the terminal ("cannot reach example.org:
/// connection refused"). The downloader turns it into a `LoomError` naming the URL.
struct TransferFailure: Error, CustomStringConvertible {
    let reason: String
    init(_ reason: String) { self.reason = reason }
    var description: String { reason }
}

/// A connected TCP socket in non-blocking mode, so that connecting, sending and every wait for data
/// give up after `timeout` seconds instead of hanging on a dead network.
///
/// Every failure is a `TransferFailure`; the socket is closed when the connection is released.
final class TCPConnection {
    let host: String
    let port: Int
    /// Seconds to wait for the connection, and then for each piece of data.
    let timeout: Double
    private let fd: Int32

    /// Resolves `host` and connects to the first address that answers.
    init(host: String, port: Int, timeout: Double) throws {
        self.host = host
        self.port = port
        self.timeout = timeout
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Socket.stream
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            if status == 0 { throw TransferFailure("cannot reach \(host): the name has no address") }
            throw TransferFailure(Self.describeResolverFailure(status, errno: errno, host: host))
        }
        defer { freeaddrinfo(first) }

        var failure = TransferFailure("cannot reach \(host): no usable address")
        var connected: Int32?
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let address = node, connected == nil {
            node = address.pointee.ai_next
            do {
                connected = try Self.open(address.pointee, host: host, port: port, timeout: timeout)
            } catch let f as TransferFailure {
                failure = f
            }
        }
        guard let descriptor = connected else { throw failure }
        fd = descriptor
    }

    deinit { _ = close(fd) }

    /// Sends all of `bytes`.
    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return send(fd, base + offset, raw.count - offset, Socket.sendFlags)
            }
            if n >= 0 {
                offset += n
                continue
            }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK {
                try wait(for: Int16(POLLOUT), what: "accept the request")
                continue
            }
            throw TransferFailure("sending the request to \(host) failed: \(Self.explain(code))")
        }
    }

    /// Reads what has arrived (at most `buffer.count` bytes), waiting up to `timeout` seconds for
    /// something to arrive. Returns 0 once the peer has closed the connection.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = recv(fd, base, buffer.count, 0)
            if n >= 0 { return n }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK {
                try wait(for: Int16(POLLIN), what: "send data")
                continue
            }
            throw TransferFailure("receiving from \(host) failed: \(Self.explain(code))")
        }
    }

    /// Waits until the socket is ready for `events`, at most `timeout` seconds.
    private func wait(for events: Int16, what: String) throws {
        if try !Self.waitReady(fd, events: events, timeout: timeout) {
            throw TransferFailure("\(host) did not \(what) within \(Self.seconds(timeout)) "
                                  + "(connection stalled; is the network down?)")
        }
    }

    // MARK: Connecting

    private static func open(_ address: addrinfo, host: String, port: Int, timeout: Double) throws -> Int32 {
        let fd = socket(address.ai_family, address.ai_socktype, address.ai_protocol)
        guard fd >= 0 else {
            throw TransferFailure("cannot open a network socket: \(explain(errno))")
        }
        var keep = false
        defer { if !keep { _ = close(fd) } }

        let flags = fcntl(fd, F_GETFL, 0)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw TransferFailure("cannot configure a network socket: \(explain(errno))")
        }
        #if canImport(Darwin)
        var one: Int32 = 1
        guard setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw TransferFailure("cannot configure a network socket: \(explain(errno))")
        }
        #endif

        let target = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        if connect(fd, address.ai_addr, address.ai_addrlen) != 0 {
            // A non-blocking connect goes on in the background (an interrupted one too): wait for it.
            let code = errno
            guard code == EINPROGRESS || code == EALREADY || code == EINTR else {
                throw TransferFailure("cannot reach \(target): \(explain(code))")
            }
            guard try waitReady(fd, events: Int16(POLLOUT), timeout: timeout) else {
                throw TransferFailure("cannot reach \(target): no answer within \(seconds(timeout)) "
                                      + "(no network connection, or a firewall?)")
            }
            var result: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &result, &length) == 0 else {
                throw TransferFailure("cannot reach \(target): \(explain(errno))")
            }
            guard result == 0 else {
                throw TransferFailure("cannot reach \(target): \(explain(result))")
            }
        }
        keep = true
        return fd
    }

    /// Waits for `events` on `fd`; false on timeout.
    private static func waitReady(_ fd: Int32, events: Int16, timeout: Double) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let left = max(0, deadline.timeIntervalSinceNow)
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let milliseconds = Int32(min(left * 1000, Double(Int32.max)).rounded(.up))
            let n = poll(&entry, 1, milliseconds)
            if n > 0 { return true }
            if n == 0 { return false }
            let code = errno
            if code != EINTR { throw TransferFailure("waiting for the network failed: \(explain(code))") }
        }
    }

    // MARK: Messages

    /// A resolver failure in words, with the likely cause.
    static func describeResolverFailure(_ status: Int32, errno code: Int32, host: String) -> String {
        let reason: String
        switch status {
        case EAI_NONAME:
            reason = "host name not found (no network connection, or a typo in the name?)"
        case EAI_AGAIN:
            reason = "the name lookup failed for now (no network connection?)"
        case EAI_FAIL:
            reason = "the name server failed (no network connection?)"
        case EAI_SYSTEM:
            reason = explain(code)
        default:
            reason = String(cString: gai_strerror(status))
        }
        return "cannot reach \(host): \(reason)"
    }

    /// An `errno` in words, with the likely cause where there is one.
    static func explain(_ code: Int32) -> String {
        switch code {
        case ECONNREFUSED: return "connection refused (nothing listens on that port; wrong port, or the server is down?)"
        case ENETUNREACH: return "network unreachable (no network connection?)"
        case EHOSTUNREACH: return "host unreachable (no network connection?)"
        case ETIMEDOUT: return "timed out (no network connection, or a firewall?)"
        case ECONNRESET: return "connection reset by the server"
        case EPIPE: return "the server closed the connection"
        default: return String(cString: strerror(code))
        }
    }

    static func seconds(_ t: Double) -> String {
        t == t.rounded() ? "\(Int(t)) s" : String(format: "%.1f s", t)
    }
}

/// Constants whose imported types differ between C libraries.
private enum Socket {
    #if canImport(Glibc)
    static let stream = Int32(SOCK_STREAM.rawValue)
    static let sendFlags = Int32(MSG_NOSIGNAL)
    #elseif canImport(Musl)
    static let stream = SOCK_STREAM
    static let sendFlags = MSG_NOSIGNAL
    #else
    static let stream = SOCK_STREAM
    static let sendFlags: Int32 = 0  // SO_NOSIGPIPE is set on the socket instead
    #endif
}
