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

