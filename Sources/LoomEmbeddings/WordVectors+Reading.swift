import Foundation
import LoomCore

extension WordVectors {
    /// Reads a word2vec text or binary file (`VectorFormat`), such as word2vec, gensim or Loom write,
    /// or a folder of TensorBoard projector files (`loadProjector(from:)`).
    ///
    /// The file is memory-mapped; binary records are copied straight from the mapping, text values
    /// are parsed in place on every core, exactly as `strtof` rounds (`DecimalFloat`), without a
    /// string per value. With `format` nil a `.bin` extension means binary;
    /// otherwise the first record decides: a line of text that reads as a word and numbers means
    /// text, anything else binary. Binary records may lack their trailing `\n`, as gensim allows.
    ///
    /// - Throws: `LoomError.io` for a missing file or a folder; `LoomError.invalidData`, naming the
    ///   file and, in text files, the line, for an empty file, a first line that is not `V D`, a
    ///   truncated file ("expected 1000 vectors, found 612"), a record with too few or too many
    ///   values, a value that is not a number or not finite, an invalid word, a duplicate word, or
    ///   data after the last vector.
    public static func load(from url: URL, format: VectorFormat? = nil) throws -> WordVectors {
        // A folder with vectors.tsv is a TensorBoard projector export.
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue,
           FileManager.default.fileExists(atPath: url.appendingPathComponent("vectors.tsv").path) {
            return try loadProjector(from: url)
        }
        let file = try FileBytes(url, what: "word vectors")
        return try file.data.withUnsafeBytes { raw -> WordVectors in
            let reader = Word2VecReader(base: raw.bindMemory(to: UInt8.self).baseAddress!, size: raw.count,
                                        path: file.path)
            let header = try reader.header()
            let chosen = format ?? (url.pathExtension.lowercased() == "bin" ? .binary : reader.detectFormat(header))
            let (words, vectors) = chosen == .binary ? try reader.readBinary(header) : try reader.readText(header)
            let ids = try WordVectors.index(words) { word, first, second in
                reader.failure("duplicate word \(quoted(word)) (vectors \(first) and \(second))")
            }
            return WordVectors(validatedWords: words, dimension: header.dimension, vectors: vectors, counts: nil,
                               ids: ids)
        }
    }
}

/// Parses word2vec files from memory. Vector numbers in messages are word ids (from 0); line
/// numbers count from 1.
struct Word2VecReader {
    let base: UnsafePointer<UInt8>
    let size: Int
    let path: String

    struct Header {
        /// V as the file announces it.
        var count: Int
        /// D.
        var dimension: Int
        /// Offset of the first record.
        var end: Int
    }

    /// A problem with one record, before the file and line are attached.
    struct RecordError: Error {
        var index: Int
        var message: String
    }

    func failure(_ message: String) -> LoomError { .invalidData("\(path): \(message)") }

    // MARK: Header

    func header() throws -> Header {
        let limit = min(size, 256)
        let usage = "its first line should be 'WORDS DIMENSION' (like '71291 200')"
        let newline = Bytes.lineEnd(base, from: 0, end: limit)
        guard newline < limit || size < limit else {
            throw LoomError.invalidData("\(path) is not a word2vec vectors file: \(usage), "
                                            + "but its first \(limit) bytes hold no line break")
        }
        let fields = self.fields(0, Bytes.trimmedEnd(base, 0, newline))
        guard fields.count == 2, let count = number(fields[0]), let dimension = number(fields[1]) else {
            throw LoomError.invalidData("\(path) is not a word2vec vectors file: \(usage), found "
                                            + "'\(Bytes.preview(base, 0, newline))'")
        }
        guard dimension >= 1, dimension <= WordVectors.maximumDimension else {
            throw failure("the header announces dimension \(dimension); expected 1 to \(WordVectors.maximumDimension)")
        }
        guard count < Int(Int32.max) else {
            throw failure("the header announces \(count) words, more than Loom reads (\(Int32.max - 1)); refused before allocating")
        }
        return Header(count: count, dimension: dimension, end: min(newline + 1, size))
    }

    /// Space- or tab-separated fields of `[start, end)` as byte ranges.
    private func fields(_ start: Int, _ end: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = start
        while i < end {
            while i < end && Bytes.isSeparator(base[i]) { i += 1 }
            let s = i
            while i < end && !Bytes.isSeparator(base[i]) { i += 1 }
            if i > s { out.append(s..<i) }
        }
        return out
    }

    /// A decimal count of at most 18 digits (so an absurd count is named, not misread).
    private func number(_ r: Range<Int>) -> Int? {
        guard r.count <= 18 else { return nil }
        var n = 0
        for i in r {
            let b = base[i]
            guard b >= 0x30 && b <= 0x39 else { return nil }
            n = n * 10 + Int(b - 0x30)
        }
        return n
    }

    // MARK: Format detection

    /// Text when the first record is a line that parses as a word and D numbers, or (for D ≥ 3,
    /// where a binary record passing this is practically impossible) a line of printable UTF-8
    /// with several fields — a text file with a bad first record, to be reported as such.
    /// Anything else is binary: little-endian floats of real vectors hold control bytes and
    /// invalid UTF-8.
    func detectFormat(_ header: Header) -> VectorFormat {
        // Blank lines may precede the first record (and binary records may start with `\n`).
        var start = header.end
        while start < size && Bytes.isWhitespace(base[start]) { start += 1 }
        guard header.count > 0, start < size else { return .text }
        let newline = Bytes.lineEnd(base, from: start, end: size)
        let end = Bytes.trimmedEnd(base, start, newline)
        guard end - start <= 1024 + 64 * header.dimension else { return .binary }
        var scratch: [CChar] = []
        var values = [Float](repeating: 0, count: header.dimension)
        let parsed = values.withUnsafeMutableBufferPointer { v in
            (try? parseTextRecord(start, end, dimension: header.dimension, into: v.baseAddress!, scratch: &scratch,
                                  index: 0)) != nil
        }
        if parsed { return .text }
        if header.dimension >= 3, Bytes.string(base, start, end) != nil,
           !(start..<end).contains(where: { base[$0] < 0x20 && base[$0] != 0x09 || base[$0] == 0x7F }),
           fields(start, end).count >= 2 {
            return .text
        }
        return .binary
    }

    // MARK: Text

    func readText(_ header: Header) throws -> ([String], [Float]) {
        let d = header.dimension
        // The non-blank lines after the header, one per vector.
        var lines: [Range<Int>] = []
        lines.reserveCapacity(min(header.count, (size - header.end) / (2 * d + 1) + 1))
        var pos = header.end
        // A word and D numbers, each at most 64 bytes: a longer line is refused before it is parsed.
        let longestLine = TextLimits.maxWordBytes + 64 * d
        while pos < size {
            let newline = Bytes.lineEnd(base, from: pos, end: size)
            let end = Bytes.trimmedEnd(base, pos, newline)
            guard end - pos <= longestLine else {
                throw failure("line \(lineNumber(at: pos)) is \(end - pos) bytes long, more than a word and \(d) numbers "
                                  + "can take (\(longestLine) bytes)")
            }
            if end > pos {
                guard lines.count < header.count else {
                    throw failure("line \(lineNumber(at: pos)): more lines than the \(header.count) vectors "
                                      + "the header announces")
                }
                lines.append(pos..<end)
            }
            pos = newline + 1
        }
        let found = lines.count
        var words = [String](repeating: "", count: found)
        var vectors = [Float](repeating: 0, count: found * d)
        let chunks = found < 4096 ? 1 : max(1, ProcessInfo.processInfo.activeProcessorCount) * 4
        var errors = [RecordError?](repeating: nil, count: chunks)
        words.withUnsafeMutableBufferPointer { wb in
            vectors.withUnsafeMutableBufferPointer { vb in
                errors.withUnsafeMutableBufferPointer { eb in
                    DispatchQueue.concurrentPerform(iterations: chunks) { c in
                        var scratch: [CChar] = []
                        for r in (found * c / chunks)..<(found * (c + 1) / chunks) {
                            do {
                                wb[r] = try parseTextRecord(lines[r].lowerBound, lines[r].upperBound, dimension: d,
                                                            into: vb.baseAddress! + r * d, scratch: &scratch, index: r)
                            } catch {
                                eb[c] = error as? RecordError ?? RecordError(index: r, message: "\(error)")
                                return
                            }
                        }
                    }
                }
            }
        }
        if let first = errors.compactMap({ $0 }).first {
            let line = lineNumber(at: lines[first.index].lowerBound)
            // An error in the last line of a file cut short (no final line break, or lines missing)
            // is the truncation.
            if first.index == found - 1 && (found < header.count || base[size - 1] != Bytes.newline) {
                throw failure("truncated: expected \(header.count) vectors, found \(found - 1) "
                                  + "(the last, line \(line), is incomplete: \(first.message))")
            }
            throw failure("line \(line): \(first.message)")
        }
        guard found == header.count else {
            throw failure("truncated: expected \(header.count) vectors, found \(found)")
        }
        return (words, vectors)
    }

    /// Parses the text record `word v1 … vD` in `[start, end)` (no line break) into `out`,
    /// straight from the mapped bytes: no string is made per value (see `DecimalFloat`).
    /// `scratch` holds a NUL-terminated copy of a value for `strtof` when the fast path declines.
    func parseTextRecord(_ start: Int, _ end: Int, dimension d: Int, into out: UnsafeMutablePointer<Float>,
                         scratch: inout [CChar], index: Int) throws -> String {
        let p = base + start
        let n = end - start
        func fail(_ message: String) -> RecordError { RecordError(index: index, message: message) }
        var i = 0
        while i < n && !Bytes.isSeparator(p[i]) { i += 1 }
        guard i > 0 else { throw fail("the line starts with a space: no word before the values") }
        guard let word = Bytes.string(p, 0, i) else {
            throw fail("vector \(index): the word is not valid UTF-8 ('\(Bytes.preview(p, 0, i))')")
        }
        if let problem = WordCheck.problem(UnsafeRawBufferPointer(start: p, count: i)) {
            throw fail("vector \(index): the word \(quoted(word)) \(problem)")
        }
        for j in 0..<d {
            while i < n && Bytes.isSeparator(p[i]) { i += 1 }
            guard i < n else { throw fail("vector \(index) (\(quoted(word))) has \(j) of \(d) values") }
            var e = i
            while e < n && !Bytes.isSeparator(p[e]) { e += 1 }
            guard let v = DecimalFloat.parse(p + i, count: e - i, scratch: &scratch) else {
                throw fail("vector \(index) (\(quoted(word))): value \(j + 1) '\(Bytes.preview(p, i, e, limit: 24))' "
                               + "is not a number")
            }
            guard v.isFinite else {
                throw fail("vector \(index) (\(quoted(word))): value \(j + 1) '\(Bytes.preview(p, i, e, limit: 24))' "
                               + "is not a finite float32")
            }
            out[j] = v
            i = e
        }
        var extra = 0
        while i < n {
            while i < n && Bytes.isSeparator(p[i]) { i += 1 }
            if i < n { extra += 1 }
            while i < n && !Bytes.isSeparator(p[i]) { i += 1 }
        }
        guard extra == 0 else {
            throw fail("vector \(index) (\(quoted(word))) has \(d + extra) values, expected \(d)")
        }
        return word
    }

    /// The 1-based line number of offset `pos` (counted only when reporting an error).
    func lineNumber(at pos: Int) -> Int {
        var line = 1
        var i = 0
        while i < pos {
            i = Bytes.lineEnd(base, from: i, end: pos)
            if i < pos { line += 1; i += 1 }
        }
        return line
    }

    // MARK: Binary

    func readBinary(_ header: Header) throws -> ([String], [Float]) {
        let d = header.dimension
        let vectorBytes = 4 * d
        // Each record takes at least a one-byte word, a space and the floats: an upper bound on
        // how many the file can hold, so a corrupt header cannot make us allocate more than that.
        let capacity = min(header.count, (size - header.end) / (vectorBytes + 2))
        var words: [String] = []
        words.reserveCapacity(capacity)
        var vectors = [Float](repeating: 0, count: capacity * d)
        var pos = header.end
        try vectors.withUnsafeMutableBytes { out in
            for i in 0..<header.count {
                while pos < size && base[pos] == Bytes.newline { pos += 1 }
                func truncated(_ detail: String = "") -> LoomError {
                    failure("truncated: expected \(header.count) vectors, found \(i)\(detail)")
                }
                guard pos < size else { throw truncated() }
                guard let space = memchr(base + pos, 0x20, size - pos) else {
                    throw truncated(" (no space after the word of vector \(i))")
                }
                let wordEnd = UnsafePointer(space.assumingMemoryBound(to: UInt8.self)) - base
                if let problem = WordCheck.problem(UnsafeRawBufferPointer(start: base + pos, count: wordEnd - pos)) {
                    throw failure("vector \(i): the word '\(Bytes.preview(base, pos, wordEnd))' \(problem) "
                                      + "(is this really a binary word2vec file?)")
                }
                guard let word = Bytes.string(base, pos, wordEnd) else {
                    throw failure("vector \(i): the word is not valid UTF-8 ('\(Bytes.preview(base, pos, wordEnd))')")
                }
                let valuesStart = wordEnd + 1
                let available = size - valuesStart
                guard available >= vectorBytes else {
                    throw truncated(" (vector \(i) (\(quoted(word))) has \(available / 4) of \(d) values)")
                }
                guard i < capacity else { throw truncated() }  // unreachable by the bound above; never trap
                (out.baseAddress! + i * vectorBytes).copyMemory(from: base + valuesStart, byteCount: vectorBytes)
                words.append(word)
                pos = valuesStart + vectorBytes
            }
        }
        while pos < size && Bytes.isWhitespace(base[pos]) { pos += 1 }
        guard pos == size else {
            throw failure("the file goes on after the \(header.count) vectors the header announces "
                              + "('\(Bytes.preview(base, pos, min(size, pos + 40)))')")
        }
        #if _endian(big)
        for i in vectors.indices { vectors[i] = Float(bitPattern: UInt32(littleEndian: vectors[i].bitPattern)) }
        #endif
        if let (row, column) = vectors.withUnsafeBufferPointer({ WordVectors.firstNonFinite($0, dimension: d) }) {
            throw failure("vector \(row) (\(quoted(words[row]))): value \(column + 1) is \(vectors[row * d + column]), "
                              + "not a finite number")
        }
        return (words, vectors)
    }
}
