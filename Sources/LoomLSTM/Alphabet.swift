import Foundation
import LoomCore

/// The symbols a character model reads and writes, with their ids.
public struct Alphabet: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// The course's 27 symbols: space is 0, `a`…`z` are 1…26. Upper case folds to lower case and
        /// every other character reads as a space (the course prints "Unexpected character").
        case text8
        /// The 256 byte values.
        case bytes
        /// The distinct Unicode scalars of the training text, in code-point order.
        case auto
        /// Words (split on whitespace, lower-cased): the most frequent ones of the training text,
        /// `UNK` (id 0) for the rest — a word-level language model, e.g. on PTB.
        case words
    }

    public let kind: Kind
    /// The symbol of each id (one Unicode scalar each; bytes as U+0000…U+00FF). Empty for words.
    public let symbols: [Unicode.Scalar]
    /// The word of each id, for `.words` (id 0 is `UNK`).
    public let words: [String]

    public var count: Int { kind == .words ? words.count : symbols.count }

    /// Whether ids are words, written with spaces between them.
    public var isWords: Bool { kind == .words }

    public init(kind: Kind, symbols: [Unicode.Scalar]) {
        self.kind = kind
        self.symbols = symbols
        self.words = []
    }

    /// A word vocabulary (`words[0]` should be `UNK`).
    public init(words: [String]) {
        kind = .words
        symbols = []
        self.words = words
    }

    enum CodingKeys: String, CodingKey { case kind, symbols, words }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .kind)
        words = try c.decodeIfPresent([String].self, forKey: .words) ?? []
        let values = try c.decode([UInt32].self, forKey: .symbols)
        symbols = try values.map {
            guard let s = Unicode.Scalar($0) else {
                throw DecodingError.dataCorruptedError(forKey: .symbols, in: c, debugDescription: "invalid code point \($0)")
            }
            return s
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(symbols.map(\.value), forKey: .symbols)
        if kind == .words { try c.encode(words, forKey: .words) }
    }

    public static let text8 = Alphabet(kind: .text8, symbols: [" "] + (UInt32(97)...122).map { Unicode.Scalar($0)! })
    public static let bytes = Alphabet(kind: .bytes, symbols: (0...255).map { Unicode.Scalar(UInt8($0)) })

    /// The alphabet of `kind` for `text` (only `.auto` looks at the text).
    public static func make(_ kind: Kind, for text: String) -> Alphabet {
        switch kind {
        case .text8: return .text8
        case .bytes: return .bytes
        case .words:
            // Without counts, every distinct word in order of first appearance (UNK first).
            var seen = Set<String>(), list = ["UNK"]
            for w in text.lowercased().split(whereSeparator: \.isWhitespace) where seen.insert(String(w)).inserted {
                if w != "UNK" { list.append(String(w)) }
            }
            return Alphabet(words: list)
        case .auto:
            var seen = Set<Unicode.Scalar>()
            for s in text.unicodeScalars { seen.insert(s) }
            return Alphabet(kind: .auto, symbols: seen.sorted { $0.value < $1.value })
        }
    }

    /// Ids of `text`. For training text the text8 alphabet folds everything unknown to a space, as
    /// the course does; with `strict` (text a user typed, e.g. a prime string) it throws instead,
    /// like the other alphabets do on a symbol they do not have. Capitals fold to lower case.
    public func encode(_ text: String, strict: Bool = false) throws -> [Int32] {
        switch kind {
        case .text8:
            return try text.unicodeScalars.map { s in
                let v = s.value
                if v >= 97 && v <= 122 { return Int32(v - 96) }
                if v >= 65 && v <= 90 { return Int32(v - 64) }
                if strict && v != 32 {
                    throw LoomError.invalidArgument(
                        "the character \(Self.describe(s)) is not in the text8 alphabet (space and a–z)")
                }
                return 0
            }
        case .bytes:
            return text.utf8.map { Int32($0) }
        case .words:
            var index: [String: Int32] = [:]
            for (i, w) in words.enumerated() { index[w] = Int32(i) }
            return text.lowercased().split(whereSeparator: \.isWhitespace).map { index[String($0)] ?? 0 }
        case .auto:
            var index: [Unicode.Scalar: Int32] = [:]
            for (i, s) in symbols.enumerated() { index[s] = Int32(i) }
            var out: [Int32] = []
            out.reserveCapacity(text.unicodeScalars.count)
            for s in text.unicodeScalars {
                guard let id = index[s] else {
                    throw LoomError.invalidArgument(
                        "the character \(Self.describe(s)) is not in the model's alphabet of \(count) symbols")
                }
                out.append(id)
            }
            return out
        }
    }

    /// Text of `ids` (bytes are decoded as UTF-8, invalid sequences replaced).
    public func decode(_ ids: [Int32]) -> String {
        switch kind {
        case .bytes: return String(decoding: ids.map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self)
        case .words: return ids.filter { $0 >= 0 && Int($0) < words.count }.map { words[Int($0)] }.joined(separator: " ")
        default:
            var s = String.UnicodeScalarView()
            for id in ids where id >= 0 && Int(id) < symbols.count { s.append(symbols[Int(id)]) }
            return String(s)
        }
    }

    static func describe(_ s: Unicode.Scalar) -> String {
        s.properties.isWhitespace || s.value < 32 ? String(format: "U+%04X", s.value) : "'\(s)' (U+\(String(format: "%04X", s.value)))"
    }
}
