import Foundation

/// Size limits every reader of text applies before it makes strings, so that a damaged or wrong
/// file (a line of 100 MB, a "word" that is a whole binary blob) is refused with a message
/// instead of becoming an allocation as large as the file.
public enum TextLimits {
    /// The longest line a line-oriented file may hold: analogy and similarity sets, pair and
    /// caption files, vocabularies, run logs, projector rows (1 MiB; a row of 50,000 values fits).
    public static let maxLineBytes = 1 << 20
    /// The longest word a corpus or a vector file may hold (4 KiB; word2vec's C tool keeps 100).
    public static let maxWordBytes = 4096

    /// The first line of `bytes` longer than `limit`: its 1-based number and length.
    public static func firstLongLine(_ bytes: UnsafeRawBufferPointer, limit: Int = maxLineBytes)
        -> (line: Int, length: Int)?
    {
        guard bytes.count > limit, let base = bytes.baseAddress else { return nil }
        var start = 0, line = 1
        while start < bytes.count {
            let end = memchr(base + start, 0x0A, bytes.count - start).map { $0 - UnsafeMutableRawPointer(mutating: base) }
                ?? bytes.count
            if end - start > limit { return (line, end - start) }
            start = end + 1
            line += 1
        }
        return nil
    }

    /// Throws `LoomError.invalidData` when a line of `bytes` is longer than `limit`.
    /// - Parameters:
    ///   - source: the file, for the message.
    ///   - what: what the file should hold ("analogy questions").
    public static func checkLines(_ bytes: UnsafeRawBufferPointer, source: String, what: String,
                                  limit: Int = maxLineBytes) throws
    {
        if let (line, length) = firstLongLine(bytes, limit: limit) {
            throw LoomError.invalidData("\(source) line \(line) is \(length) bytes long (a line may hold at most "
                                            + "\(describe(limit))): expected \(what)")
        }
    }

    /// The same check on `data`.
    public static func checkLines(_ data: Data, source: String, what: String, limit: Int = maxLineBytes) throws {
        try data.withUnsafeBytes { try checkLines($0, source: source, what: what, limit: limit) }
    }

    /// "1 MiB", "4096 bytes".
    public static func describe(_ bytes: Int) -> String {
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
}
