import Foundation

/// Checks on a text file before it is read in full.
public enum TextFile {
    package static func openError(_ url: URL) -> LoomError {
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) {
            return .io("\(url.path): no such file")
        }
        if isDir.boolValue { return .io("\(url.path) is a folder, not a text file") }
        return .io("cannot open \(url.path): \(String(cString: strerror(errno)))")
    }

    /// The text of a line-oriented file, after the checks of `checkReadableText` and
    /// `TextLimits.checkLines` (no line over 1 MiB), as strict UTF-8.
    /// - Parameter what: what the file should hold, for messages ("pronunciations").
    public static func readLines(_ url: URL, what: String) throws -> String {
        try checkReadableText(url)
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw LoomError.io("cannot read \(url.path): \(error.localizedDescription)")
        }
        try TextLimits.checkLines(data, source: url.path, what: what)
        guard let text = String(data: data, encoding: .utf8) else {
            throw LoomError.invalidData("\(url.path) is not UTF-8 text: expected \(what)")
        }
        return text
    }

    /// Throws when `url` is missing, a folder, empty, or looks binary (a NUL byte, or more than 1%
    /// control characters, in its first 64 KiB).
    public static func checkReadableText(_ url: URL) throws {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw openError(url) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            throw LoomError.io("\(url.path) is a folder, not a text file")
        }
        var head = [UInt8](repeating: 0, count: 65_536)
        let n = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { throw LoomError.io("cannot read \(url.path): \(String(cString: strerror(errno)))") }
        if n == 0 { throw LoomError.invalidData("\(url.path) is empty") }
        var control = 0
        for b in head[0..<n] {
            if b == 0 { throw LoomError.invalidData("\(url.path) looks like a binary file (it contains NUL bytes), not text") }
            if b < 0x09 || (b > 0x0D && b < 0x20) || b == 0x7F { control += 1 }
        }
        if control * 100 > n {
            throw LoomError.invalidData("\(url.path) looks like a binary file (\(control) control bytes in its first \(n)), not text")
        }
    }
}
