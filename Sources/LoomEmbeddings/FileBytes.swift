import Foundation
import LoomCore

/// A whole file mapped into memory, opened with the checks every reader here needs: a missing
/// file, a folder and an empty file are named errors.
struct FileBytes {
    let url: URL
    let data: Data

    var path: String { url.path }

    /// - Parameter what: what the file should hold, for messages ("word vectors").
    init(_ url: URL, what: String) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw LoomError.io("cannot read \(what) from \(url.path): no such file")
        }
        guard !isFolder.boolValue else {
            throw LoomError.io("cannot read \(what) from \(url.path): it is a folder")
        }
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw LoomError.io("cannot read \(what) from \(url.path): \(error.localizedDescription)")
        }
        guard !data.isEmpty else { throw LoomError.invalidData("\(url.path) is empty: expected \(what)") }
        self.url = url
    }
}

/// Byte-level helpers over a mapped file.
enum Bytes {
    static let newline: UInt8 = 0x0A

    /// Space or tab: the field separators of the text formats.
    @inline(__always)
    static func isSeparator(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }

    /// ASCII whitespace: space, \t, \n, \v, \f, \r.
    @inline(__always)
    static func isWhitespace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    /// The offset of the next `\n` at or after `from`, or `end`.
    static func lineEnd(_ base: UnsafePointer<UInt8>, from: Int, end: Int) -> Int {
        guard from < end, let hit = memchr(base + from, Int32(newline), end - from) else { return end }
        return UnsafePointer(hit.assumingMemoryBound(to: UInt8.self)) - base
    }

    /// `[start, end)` without trailing whitespace (`\r` of CRLF files, trailing spaces).
    static func trimmedEnd(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        var e = end
        while e > start && isWhitespace(base[e - 1]) { e -= 1 }
        return e
    }

    /// Whether `[start, end)` holds only whitespace.
    static func isBlank(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        trimmedEnd(base, start, end) == start
    }

    /// The bytes as a string for a message: invalid UTF-8 replaced, control characters escaped,
    /// cut after `limit` characters.
    static func preview(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, limit: Int = 40) -> String {
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: min(end - start, limit * 4)),
                          as: UTF8.self)
        var out = ""
        for (n, scalar) in text.unicodeScalars.enumerated() {
            if n == limit { out += "…"; break }
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\u{FFFD}" {
                out += scalar == "\u{FFFD}" ? "?" : scalar.escaped(asASCII: true)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        if end - start > limit * 4 && !out.hasSuffix("…") { out += "…" }
        return out
    }

    /// Strict UTF-8 decoding: nil for invalid bytes.
    static func string(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> String? {
        String(validating: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self)
    }
}
