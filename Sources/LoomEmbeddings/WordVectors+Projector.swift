import Foundation
import LoomCore

extension WordVectors {
    /// Reads TensorBoard projector files back: `vectors.tsv` (one row of tab-separated floats per
    /// word) and `metadata.tsv` (one word per line, or a `word<TAB>count` header and two columns),
    /// as `writeProjector(to:)` writes them into `folder`.
    ///
    /// - Throws: `LoomError.io` for a missing file; `LoomError.invalidData`, naming the file and
    ///   line, for an empty file, rows of different lengths, a value that is not a finite number,
    ///   a bad count, or a different number of vectors and words.
    public static func loadProjector(from folder: URL) throws -> WordVectors {
        let vectorsFile = try FileBytes(folder.appendingPathComponent("vectors.tsv"), what: "projector vectors")
        let metadataFile = try FileBytes(folder.appendingPathComponent("metadata.tsv"), what: "projector metadata")

        try TextLimits.checkLines(vectorsFile.data, source: vectorsFile.path, what: "projector vectors")
        try TextLimits.checkLines(metadataFile.data, source: metadataFile.path, what: "projector metadata")
        // Metadata: words, and counts when there is a header with a second column.
        let metadata = String(decoding: metadataFile.data, as: UTF8.self)
        var lines = metadata.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? $0.dropLast() : $0
        }
        if lines.last?.isEmpty == true { lines.removeLast() }
        var words: [String] = []
        var counts: [Int]?
        if let first = lines.first, first.split(separator: "\t").count == 2 {
            counts = []
            for (n, line) in lines.dropFirst().enumerated() {
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                guard fields.count == 2, let count = Int(fields[1]), count >= 0 else {
                    throw LoomError.invalidData("\(metadataFile.path) line \(n + 2): expected 'word<TAB>count', "
                                                    + "got '\(line.prefix(60))'")
                }
                words.append(String(fields[0]))
                counts!.append(count)
            }
        } else {
            words = lines.map(String.init)
        }

        // Vectors: bytes parsed in place, one row per line.
        var vectors: [Float] = []
        var dimension = 0
        var rows = 0
        var scratch: [CChar] = []
        try vectorsFile.data.withUnsafeBytes { raw in
            let base = raw.bindMemory(to: UInt8.self).baseAddress!
            var start = 0
            while start < raw.count {
                let end = Bytes.lineEnd(base, from: start, end: raw.count)
                let lineEnd = Bytes.trimmedEnd(base, start, end)
                if lineEnd > start {
                    rows += 1
                    var fieldStart = start, fields = 0
                    while fieldStart <= lineEnd {
                        var fieldEnd = fieldStart
                        while fieldEnd < lineEnd && base[fieldEnd] != 0x09 { fieldEnd += 1 }
                        guard let v = DecimalFloat.parse(base + fieldStart, count: fieldEnd - fieldStart, scratch: &scratch),
                              v.isFinite else {
                            throw LoomError.invalidData("\(vectorsFile.path) line \(rows): '\(Bytes.preview(base, fieldStart, fieldEnd))' "
                                                            + "is not a finite number")
                        }
                        vectors.append(v)
                        fields += 1
                        fieldStart = fieldEnd + 1
                    }
                    if rows == 1 { dimension = fields }
                    guard fields == dimension else {
                        throw LoomError.invalidData("\(vectorsFile.path) line \(rows): \(fields) values, "
                                                        + "expected \(dimension) as on line 1")
                    }
                }
                start = end + 1
            }
        }
        guard rows == words.count else {
            throw LoomError.invalidData("\(vectorsFile.path) has \(rows) vectors but \(metadataFile.path) has "
                                            + "\(words.count) words")
        }
        return try WordVectors(words: words, dimension: dimension, vectors: vectors, counts: counts)
    }
}
