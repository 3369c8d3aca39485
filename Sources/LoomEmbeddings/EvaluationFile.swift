import Foundation
import LoomCore

/// The lines of a small evaluation file (analogy questions, word pairs), checked to be UTF-8 text.
struct EvaluationFile {
    struct Line {
        /// From 1.
        var number: Int
        /// Without the line break and surrounding whitespace.
        var text: String
    }

    let path: String
    /// The non-blank lines.
    let lines: [Line]

    /// - Parameter what: what the file should hold, for messages ("analogy questions").
    init(_ url: URL, what: String) throws {
        let file = try FileBytes(url, what: what)
        path = file.path
        lines = try file.data.withUnsafeBytes { raw -> [Line] in
            let base = raw.bindMemory(to: UInt8.self).baseAddress!
            let size = raw.count
            if memchr(base, 0, size) != nil {
                throw LoomError.invalidData("\(url.path) is not a text file (it contains NUL bytes): expected \(what)")
            }
            try TextLimits.checkLines(raw, source: url.path, what: what)
            var out: [Line] = []
            var pos = 0
            var number = 0
            while pos < size {
                number += 1
                let newline = Bytes.lineEnd(base, from: pos, end: size)
                var start = pos
                while start < newline && Bytes.isWhitespace(base[start]) { start += 1 }
                let end = Bytes.trimmedEnd(base, start, newline)
                if end > start {
                    guard let text = Bytes.string(base, start, end) else {
                        throw LoomError.invalidData("\(url.path) line \(number) is not valid UTF-8 text: expected \(what)")
                    }
                    out.append(Line(number: number, text: text))
                }
                pos = newline + 1
            }
            return out
        }
    }

    /// An `invalidData` error about one line, quoting it.
    func malformed(_ line: Line, _ expectation: String) -> LoomError {
        var shown = String(line.text.prefix(60))
        if shown.count < line.text.count { shown += "…" }
        return .invalidData("\(path) line \(line.number): expected \(expectation), found '\(shown)'")
    }

    /// `word.uppercased()` when matching ignores case (as gensim does), else `word`.
    static func fold(_ word: String, caseInsensitive: Bool) -> String {
        caseInsensitive ? word.uppercased() : word
    }
}

extension WordVectors {
    /// The candidate vocabulary of gensim's evaluations: the first `rows` words, keyed by their
    /// (folded) spelling; when folding merges several words the first — most frequent — wins.
    /// - Returns: the key → id map and, for each of the first `rows` ids, the id its key maps to.
    func evaluationVocabulary(rows: Int, caseInsensitive: Bool) -> (ids: [String: Int], canonical: [Int]) {
        var ids: [String: Int] = [:]
        ids.reserveCapacity(rows)
        var keys: [String] = []
        keys.reserveCapacity(rows)
        for i in 0..<rows {
            let key = EvaluationFile.fold(words[i], caseInsensitive: caseInsensitive)
            if ids[key] == nil { ids[key] = i }
            keys.append(key)
        }
        return (ids, keys.map { ids[$0]! })
    }
}
