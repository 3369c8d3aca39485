import Foundation
import LoomCore

/// An `http://host[:port]/path?query` URL, split into what a request needs.
///
/// Parsing is deliberately narrow: plain HTTP only, no user names or passwords. `https://` is
/// reported as `HTTPLocation.Failure.https` so the downloader can explain what to do instead.
struct HTTPLocation: Equatable, CustomStringConvertible {
    /// The host name or address, without the brackets of an IPv6 literal.
    var host: String
    var port: Int
    /// The request target: the path (starting with `/`) and query, without the fragment.
    var target: String

    enum Failure: Error, Equatable {
        /// The URL asks for HTTPS.
        case https
        /// Not a URL this client can fetch; the reason in words.
        case invalid(String)
    }

    /// The `Host` header value: the host, bracketed if IPv6, and the port unless it is 80.
    var authority: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? name : "\(name):\(port)"
    }

    var description: String { "http://\(authority)\(target)" }

    /// Parses an absolute `http://` URL.
    static func parse(_ text: String) throws -> HTTPLocation {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let separator = trimmed.range(of: "://") else {
            throw Failure.invalid("not an absolute URL (expected http://host/path)")
        }
        let scheme = trimmed[..<separator.lowerBound].lowercased()
        if scheme == "https" { throw Failure.https }
        guard scheme == "http" else {
            throw Failure.invalid("\(scheme):// URLs are not supported (only http://)")
        }
        var rest = Substring(trimmed[separator.upperBound...])
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var target = String(rest[authorityEnd...])
        if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
        guard !authority.contains("@") else {
            throw Failure.invalid("user names and passwords in URLs are not supported")
        }

        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw Failure.invalid("unterminated IPv6 address")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw Failure.invalid("unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw Failure.invalid("no host name") }
        var port = 80
        if let p = portText, !p.isEmpty {
            guard p.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(p), (1...65535).contains(n) else {
                throw Failure.invalid("bad port '\(p)'")
            }
            port = n
        }
        return HTTPLocation(host: String(host), port: port, target: try clean(target))
    }

    /// The target of a redirect: `location` may be absolute (`http://…`, `https://…`),
    /// scheme-relative (`//host/path`), an absolute path (`/path`), a query (`?q`) or a relative
    /// path (`file`, `../dir/file`), resolved against this URL.
    func resolving(_ location: String) throws -> HTTPLocation {
        let text = location.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { throw Failure.invalid("empty redirect location") }
        if let colon = text.firstIndex(of: ":"),
           text[..<colon].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }),
           text[colon...].hasPrefix("://") {
            return try Self.parse(text)
        }
        if text.hasPrefix("//") { return try Self.parse("http:" + text) }
        var relative = text
        if let hash = relative.firstIndex(of: "#") { relative = String(relative[..<hash]) }
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "/"
        let combined: String
        if relative.hasPrefix("/") {
            combined = relative
        } else if relative.hasPrefix("?") {
            combined = path + relative
        } else if relative.isEmpty {
            combined = target
        } else {
            let directory = path.lastIndex(of: "/").map { String(path[...$0]) } ?? "/"
            combined = directory + relative
        }
        return HTTPLocation(host: host, port: port, target: try Self.clean(Self.removingDotSegments(combined)))
    }

    /// Rejects control characters and encodes spaces, so the request line stays one line.
    private static func clean(_ target: String) throws -> String {
        var out = ""
        for scalar in target.unicodeScalars {
            if scalar == " " {
                out += "%20"
            } else if scalar.value < 0x20 || scalar.value == 0x7f {
                throw Failure.invalid("control characters in the URL")
            } else if scalar.isASCII {
                out.unicodeScalars.append(scalar)
            } else {
                for byte in String(scalar).utf8 { out += "%" + String(byte, radix: 16, uppercase: true) }
            }
        }
        return out
    }

    /// RFC 3986 §5.2.4 on the path part of a target (the query is kept as is).
    static func removingDotSegments(_ target: String) -> String {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts.first.map(String.init) ?? ""
        var output: [Substring] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for (i, segment) in segments.enumerated() {
            let last = i == segments.count - 1
            switch segment {
            case ".":
                if last { output.append("") }
            case "..":
                if !output.isEmpty { output.removeLast() }
                if last { output.append("") }
            default:
                output.append(segment)
            }
        }
        let cleaned = "/" + output.joined(separator: "/")
        return parts.count > 1 ? cleaned + "?" + parts[1] : cleaned
    }
}
