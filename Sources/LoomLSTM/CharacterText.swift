import Foundation
import LoomCore
import LoomData

/// A text as symbol ids of an alphabet (two bytes a character).
public struct CharacterText: Sendable {
    public let alphabet: Alphabet
    public let ids: [UInt16]

    public init(alphabet: Alphabet, ids: [UInt16]) {
        self.alphabet = alphabet
        self.ids = ids
    }

    public var count: Int { ids.count }

    /// Reads `url` with an alphabet of `kind` (`auto`: the text's own symbols; `words`: its
    /// `maxVocabulary` most frequent words, UNK included).
    public static func load(_ url: URL, alphabet kind: Alphabet.Kind, maxVocabulary: Int = 10_000) throws -> CharacterText {
        if kind == .words {
            guard maxVocabulary >= 2 && maxVocabulary <= Int(UInt16.max) else {
                throw LoomError.invalidArgument("--max-vocab must be between 2 and \(UInt16.max) for a word model")
            }
            let corpus = try Corpus.load(url, options: CorpusOptions(maxVocabulary: maxVocabulary, minCount: 1))
            return CharacterText(alphabet: Alphabet(words: corpus.vocabulary.words),
                                 ids: corpus.ids.map { UInt16(truncatingIfNeeded: $0) })
        }
        try TextFile.checkReadableText(url)
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw LoomError.io("cannot read \(url.path): \(error.localizedDescription)")
        }
        return try make(data, alphabet: kind, source: url.path)
    }

    /// Ids of `text` in a given alphabet (for priming generation and for tests).
    public static func encode(_ text: String, alphabet: Alphabet) throws -> CharacterText {
        CharacterText(alphabet: alphabet, ids: try alphabet.encode(text).map { UInt16(truncatingIfNeeded: $0) })
    }

    /// `transform` of every byte, through raw buffers (a `Data.map` closure is far slower).
    @inline(__always)
    static func mapBytes(_ data: Data, _ transform: (UInt8) -> UInt16) -> [UInt16] {
        data.withUnsafeBytes { raw in
            [UInt16](unsafeUninitializedCapacity: raw.count) { out, count in
                for i in 0..<raw.count { out[i] = transform(raw[i]) }
                count = raw.count
            }
        }
    }

    static func make(_ data: Data, alphabet kind: Alphabet.Kind, source: String) throws -> CharacterText {
        guard !data.isEmpty else { throw LoomError.invalidData("\(source) is empty") }
        switch kind {
        case .text8:
            // The course's char2id: a–z → 1…26 (upper case folded), everything else → 0 (space).
            var table = [UInt16](repeating: 0, count: 256)
            for b in 97...122 { table[b] = UInt16(b - 96) }
            for b in 65...90 { table[b] = UInt16(b - 64) }
            return CharacterText(alphabet: .text8, ids: mapBytes(data) { table[Int($0)] })
        case .bytes:
            return CharacterText(alphabet: .bytes, ids: mapBytes(data) { UInt16($0) })
        case .words:
            let text = String(decoding: data, as: UTF8.self)
            let alphabet = Alphabet.make(.words, for: text)
            return CharacterText(alphabet: alphabet, ids: try alphabet.encode(text).map { UInt16(truncatingIfNeeded: $0) })
        case .auto:
            let text = String(decoding: data, as: UTF8.self)
            let alphabet = Alphabet.make(.auto, for: text)
            guard alphabet.count <= Int(UInt16.max) else {
                throw LoomError.unsupported("\(source) has \(alphabet.count) distinct characters; at most 65535 are supported")
            }
            var index: [Unicode.Scalar: UInt16] = [:]
            for (i, s) in alphabet.symbols.enumerated() { index[s] = UInt16(i) }
            var ids: [UInt16] = []
            ids.reserveCapacity(data.count)
            for s in text.unicodeScalars { ids.append(index[s]!) }
            return CharacterText(alphabet: alphabet, ids: ids)
        }
    }
}
