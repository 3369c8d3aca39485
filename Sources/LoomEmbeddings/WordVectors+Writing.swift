import Foundation
import LoomCore

/// The two file formats of the original word2vec tool (`-binary 0` / `-binary 1`), which gensim's
/// `KeyedVectors.load_word2vec_format(path, binary=…)` reads.
///
/// Both start with a header line `V D\n` (vocabulary size, dimension), then one record per word
/// in id order:
/// - `text`: `word f1 f2 … fD\n`, each float in its shortest form that reads back bit-identical.
/// - `binary`: the word's UTF-8 bytes, one space, D little-endian float32 values, `\n`.
public enum VectorFormat: String, Sendable, CaseIterable {
    case text
    case binary
}

extension WordVectors {
    /// Writes the vectors in a word2vec format, atomically (a failed write leaves the old file).
    public func write(to url: URL, format: VectorFormat) throws {
        let out = try AtomicFileWriter(url)
        try out.write("\(count) \(dimension)\n")
        switch format {
        case .text: try writeTextRecords(out)
        case .binary: try writeBinaryRecords(out)
        }
        try out.commit()
    }

    /// Writes TensorBoard projector files into `folder` (created if needed):
    /// - `vectors.tsv`: V rows of D tab-separated floats;
    /// - `metadata.tsv`: one word per line, or, when counts are known, a header `word\tcount`
    ///   and two columns (the projector reads a header only when there are several columns).
    /// - Returns: the URLs of `vectors.tsv` and `metadata.tsv`.
    @discardableResult
    public func writeProjector(to folder: URL) throws -> (vectors: URL, metadata: URL) {
        let vectorsURL = folder.appendingPathComponent("vectors.tsv")
        let metadataURL = folder.appendingPathComponent("metadata.tsv")
        let vectorsOut = try AtomicFileWriter(vectorsURL)
        var line: [UInt8] = []
        for i in 0..<count {
            line.removeAll(keepingCapacity: true)
            appendFloats(row: i, separator: 0x09, leadingSeparator: false, to: &line)
            line.append(0x0A)
            try vectorsOut.write(line)
        }
        let metadataOut = try AtomicFileWriter(metadataURL)
        if let counts {
            try metadataOut.write("word\tcount\n")
            for (word, n) in zip(words, counts) { try metadataOut.write("\(word)\t\(n)\n") }
        } else {
            for word in words { try metadataOut.write("\(word)\n") }
        }
        try vectorsOut.commit()
        try metadataOut.commit()
        return (vectorsURL, metadataURL)
    }

    /// Writes the vocabulary as word2vec's `-save-vocab` does: `word count` per line, in id order.
    /// - Throws: `LoomError.invalidArgument` when these vectors carry no counts.
    public func writeVocabulary(to url: URL) throws {
        guard let counts else {
            throw LoomError.invalidArgument(
                "cannot write the vocabulary \(url.path): these word vectors carry no counts "
                    + "(vectors read from word2vec files have none)")
        }
        let out = try AtomicFileWriter(url)
        for (word, n) in zip(words, counts) { try out.write("\(word) \(n)\n") }
        try out.commit()
    }

    // MARK: Records

    private func writeTextRecords(_ out: AtomicFileWriter) throws {
        var line: [UInt8] = []
        for i in 0..<count {
            line.removeAll(keepingCapacity: true)
            line.append(contentsOf: words[i].utf8)
            appendFloats(row: i, separator: 0x20, leadingSeparator: true, to: &line)
            line.append(0x0A)
            try out.write(line)
        }
    }

    private func writeBinaryRecords(_ out: AtomicFileWriter) throws {
        let d = dimension
        #if _endian(big)
        var swapped = [UInt32](repeating: 0, count: d)
        #endif
        try vectors.withUnsafeBytes { raw in
            for i in 0..<count {
                try out.write(words[i] + " ")
                #if _endian(little)
                try out.write(UnsafeRawBufferPointer(rebasing: raw[(i * d * 4)..<((i + 1) * d * 4)]))
                #else
                for j in 0..<d { swapped[j] = vectors[i * d + j].bitPattern.littleEndian }
                try swapped.withUnsafeBytes { try out.write($0) }
                #endif
                try out.write([0x0A])
            }
        }
    }

    /// Appends row `i`'s floats in their shortest round-trip form (`Float.description`).
    private func appendFloats(row i: Int, separator: UInt8, leadingSeparator: Bool, to line: inout [UInt8]) {
        for j in 0..<dimension {
            if leadingSeparator || j > 0 { line.append(separator) }
            var text = vectors[i * dimension + j].description
            text.withUTF8 { line.append(contentsOf: $0) }
        }
    }
}
