import Foundation
import LoomCore

/// The id files of `Corpus.load(_:options:cache:progress:)`: `<key>.vocab` (word2vec's
/// `word count` lines) and `<key>.ids`, a 48-byte header — `LOOMIDS1`, then little-endian
/// UInt64s: id count, token count, distinct words, vocabulary size, UNK's id + 1 (0: none) — and
/// the ids as little-endian int32. The `.ids` file is written last and atomically, so its presence
/// means both are complete; anything that does not add up is rebuilt, not trusted.
enum IDCache {
    static let magic = Array("LOOMIDS1".utf8)
    static let headerBytes = 48
    /// Ids written at a time.
    static let chunk = 1 << 20

    /// A hash of what the ids depend on: the file (absolute path, size, modification time) and
    /// the options, plus this layout's version.
    static func key(_ url: URL, _ options: CorpusOptions) throws -> String {
        let path = url.standardizedFileURL.resolvingSymlinksInPath().path
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let text = "ids1|\(path)|\(size)|\(modified)|\(options.maxVocabulary ?? -1)|\(options.minCount)|"
            + "\(options.normalization.rawValue)|\(options.outOfVocabulary.rawValue)"
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let name = url.deletingPathExtension().lastPathComponent.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
        return "\(name.prefix(40))-\(String(h, radix: 16))"
    }

    /// The cached corpus of `key`, or nil when it is absent or does not add up.
    static func open(_ key: String, in folder: URL) throws -> Corpus? {
        let idsURL = folder.appendingPathComponent(key + ".ids"), vocabURL = folder.appendingPathComponent(key + ".vocab")
        guard FileManager.default.fileExists(atPath: idsURL.path), FileManager.default.fileExists(atPath: vocabURL.path),
              let file = try? MappedFile(idsURL), file.size >= headerBytes,
              Array(UnsafeRawBufferPointer(start: file.base, count: 8)) == magic else { return nil }
        func field(_ i: Int) -> Int { Int(UInt64(littleEndian: file.base.loadUnaligned(fromByteOffset: 8 + 8 * i, as: UInt64.self))) }
        let count = field(0), tokens = field(1), distinct = field(2), size = field(3), unknown = field(4)
        guard count >= 0, count <= (file.size - headerBytes) / 4, file.size == headerBytes + count * 4,
              let read = try? Vocabulary.read(from: vocabURL), read.count == size else { return nil }
        let vocabulary = try Vocabulary(words: read.words, counts: read.counts, unknownID: unknown > 0 ? unknown - 1 : nil)
        return Corpus(vocabulary: vocabulary, ids: IDStream(mapping: file, byteOffset: headerBytes, count: count),
                      tokenCount: tokens, distinctWords: distinct)
    }

    /// Writes the vocabulary, then the ids `produce` emits (in chunks of `chunk`), then the header.
    static func write(_ key: String, in folder: URL, vocabulary: Vocabulary, tokenCount: Int, distinctWords: Int,
                      produce: (_ emit: (Int32) throws -> Void) throws -> Void) throws {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw LoomError.io("cannot create the id cache \(folder.path): \(error.localizedDescription)")
        }
        try vocabulary.write(to: folder.appendingPathComponent(key + ".vocab"))
        // The header comes first in the file but is known last: a placeholder, then the ids, then
        // the real header written into the temporary file before it takes the final name.
        let url = folder.appendingPathComponent(key + ".ids")
        let out = try AtomicFileWriter(url)
        try out.write([UInt8](repeating: 0, count: headerBytes))
        var buffer: [Int32] = []
        buffer.reserveCapacity(chunk)
        var count = 0
        try produce { id in
            buffer.append(id.littleEndian)
            if buffer.count == chunk {
                try buffer.withUnsafeBytes { try out.write($0) }
                count += buffer.count
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try buffer.withUnsafeBytes { try out.write($0) }
        count += buffer.count
        var header = magic
        for v in [count, tokenCount, distinctWords, vocabulary.count, (vocabulary.unknownID ?? -1) + 1] {
            withUnsafeBytes(of: UInt64(v).littleEndian) { header += $0 }
        }
        try out.overwrite(header, at: 0)
        try out.commit()
    }
}
