import Foundation
import LoomCore

/// How raw bytes become words.
public enum TokenNormalization: String, Sendable, CaseIterable {
    /// Split on ASCII whitespace and lower-case ASCII letters; other bytes (UTF-8) are kept.
    case lowercase
    /// Matt Mahoney's text8 alphabet (as `wikifil.pl`): lower-case `a`–`z` only, each digit spelled
    /// out as its own word ("1984" → "one nine eight four"), every other byte a separator.
    case text8
}

/// Streams the words of a file without holding it in memory: the file is read in chunks into one
/// buffer, bytes are normalised in place, and each word is handed over as a slice of that buffer.
///
/// Nothing here makes a Swift `String` per word; callers see `UnsafeRawBufferPointer`s that are
/// valid only during the callback.
public struct Tokenizer {
    public var normalization: TokenNormalization
    /// Bytes read per system call.
    public var chunkSize = 1 << 20

    public init(normalization: TokenNormalization) { self.normalization = normalization }

    /// Byte classes: 0 separator, 1 word byte (after mapping), 2…11 a digit (text8: its own word).
    private func classTable() -> (classes: [UInt8], mapping: [UInt8]) {
        var classes = [UInt8](repeating: 0, count: 256)
        var mapping = [UInt8](repeating: 0, count: 256)
        for b in 0..<256 {
            let byte = UInt8(b)
            mapping[b] = byte
            switch normalization {
            case .lowercase:
                let whitespace = byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
                classes[b] = whitespace ? 0 : 1
                if byte >= 0x41 && byte <= 0x5A { mapping[b] = byte + 0x20 }
            case .text8:
                if byte >= 0x61 && byte <= 0x7A { classes[b] = 1 }
                else if byte >= 0x41 && byte <= 0x5A { classes[b] = 1; mapping[b] = byte + 0x20 }
                else if byte >= 0x30 && byte <= 0x39 { classes[b] = 2 + (byte - 0x30) }
            }
        }
        return (classes, mapping)
    }

    static let digitWords: [[UInt8]] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                        "nine"].map { Array($0.utf8) }

    /// Calls `body` with every word of the file at `url`, in order.
    ///
    /// - Throws: `LoomError.invalidData` for a word longer than `TextLimits.maxWordBytes` (no
    ///   text has one; a file that does is not a corpus), before it reaches `body`.
    public func forEachWord(in url: URL, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw TextFile.openError(url) }
        defer { close(fd) }
        let (classes, mapping) = classTable()
        let capacity = chunkSize
        // The buffer holds a partial word carried over from the previous chunk, then new bytes.
        var buffer = [UInt8](repeating: 0, count: capacity * 2)
        var carried = 0
        var offset = 0         // file offset of buffer[carried]
        let longest = max(1, min(TextLimits.maxWordBytes, capacity))
        func tooLong(at position: Int) -> LoomError {
            .invalidData("\(url.path): the word at byte \(position) is longer than \(longest) bytes, the most a word "
                             + "may hold: is this a text corpus?")
        }
        try buffer.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            while true {
                let n = read(fd, base + carried, capacity)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw LoomError.io("reading \(url.path) failed: \(String(cString: strerror(errno)))")
                }
                let end = carried + n
                let atEOF = n == 0
                let bufferOffset = offset - carried   // file offset of buffer[0]
                offset += n
                var start = 0          // first byte of the current word, if inWord
                var inWord = carried > 0
                var i = carried
                while i < end {
                    let byte = base[i]
                    let cls = classes[Int(byte)]
                    if cls == 1 {
                        base[i] = mapping[Int(byte)]
                        if !inWord { start = i; inWord = true }
                    } else {
                        if inWord {
                            if i - start > longest { throw tooLong(at: bufferOffset + start) }
                            try body(UnsafeRawBufferPointer(start: base + start, count: i - start))
                            inWord = false
                        }
                        if cls >= 2 {
                            try Self.digitWords[Int(cls - 2)].withUnsafeBytes { try body($0) }
                        }
                    }
                    i += 1
                }
                if inWord {
                    let length = end - start
                    if length > longest { throw tooLong(at: bufferOffset + start) }
                    if atEOF {
                        try body(UnsafeRawBufferPointer(start: base + start, count: length))
                        carried = 0
                    } else {
                        if start > 0 { memmove(base, base + start, length) }
                        carried = length
                    }
                } else {
                    carried = 0
                }
                if atEOF { break }
            }
        }
    }
}

/// Checks on a text file before it is read in full.
public enum TextFile {
    static func openError(_ url: URL) -> LoomError {
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
