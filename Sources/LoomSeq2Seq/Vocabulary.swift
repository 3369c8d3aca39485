import Foundation
import LoomCore

/// What a sequence is made of.
public enum SequenceUnits: String, Codable, Sendable, CaseIterable {
    /// Characters (grapheme clusters); spaces are symbols too.
    case char
    /// Words and punctuation marks, split at spaces and around punctuation.
    case word
    /// Symbols separated by spaces, taken as they are (e.g. ARPAbet phonemes).
    case symbol
    /// Subwords: words split into pieces learned by byte-pair encoding (`BytePairEncoding`).
    case bpe
}

/// Splits text into tokens and joins tokens back into text, by `units`.
public enum Tokens {
    /// Tokens of `text`; for `.bpe`, the words the merges then split (see
    /// `SequenceVocabulary.tokens`).
    public static func split(_ text: String, _ units: SequenceUnits) -> [String] {
        switch units {
        case .char: return text.map(String.init)
        case .symbol: return text.split(whereSeparator: \.isWhitespace).map(String.init)
        case .word, .bpe:
            // Runs of letters, digits and inner apostrophes or hyphens; every other mark alone.
            var tokens: [String] = []
            var current = ""
            func flush() { if !current.isEmpty { tokens.append(current); current = "" } }
            for c in text {
                if c.isLetter || c.isNumber || ((c == "'" || c == "-") && !current.isEmpty) {
                    current.append(c)
                } else {
                    flush()
                    if !c.isWhitespace { tokens.append(String(c)) }
                }
            }
            flush()
            return tokens
        }
    }

    /// Text from tokens: characters joined as they are; words with spaces, none before
    /// closing punctuation or after opening marks; subword pieces ending in `@@` glued to the next.
    public static func join(_ tokens: [String], _ units: SequenceUnits) -> String {
        switch units {
        case .char: return tokens.joined()
        case .symbol: return tokens.joined(separator: " ")
        case .bpe:
            var words: [String] = [], current = ""
            for t in tokens {
                if t.hasSuffix(BytePairEncoding.continuation) {
                    current += t.dropLast(BytePairEncoding.continuation.count)
                } else {
                    words.append(current + t); current = ""
                }
            }
            if !current.isEmpty { words.append(current) }
            return join(words, .word)
        case .word:
            var out = ""
            let closing: Set<String> = [".", ",", "!", "?", ";", ":", ")", "]", "}", "%", "'s", "'"]
            let opening: Set<String> = ["(", "[", "{", "¿", "¡"]
            var previous: String?
            for t in tokens {
                if let p = previous, !closing.contains(t), !opening.contains(p) { out += " " }
                out += t
                previous = t
            }
            return out
        }
    }
}

/// The symbols of one side of a sequence-to-sequence model. Ids 0, 1 and 2 are `<unk>`, `<s>`
/// and `</s>`; the rest are the training data's symbols by decreasing frequency.
public struct SequenceVocabulary: Codable, Equatable, Sendable {
    public static let unknown: Int32 = 0
    public static let start: Int32 = 1
    public static let end: Int32 = 2

    public let units: SequenceUnits
    public let symbols: [String]
    /// The merges that split words into this vocabulary's pieces (`.bpe` units only).
    public let bpe: BytePairEncoding?
    private var index: [String: Int32] = [:]

    enum CodingKeys: String, CodingKey { case units, symbols, bpe }

    public init(units: SequenceUnits, symbols: [String], bpe: BytePairEncoding? = nil) {
        precondition((units == .bpe) == (bpe != nil), "subword units need their merges, and only they have them")
        self.units = units
        self.symbols = symbols
        self.bpe = bpe
        for (i, s) in symbols.enumerated() { index[s] = Int32(i) }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let units = try c.decode(SequenceUnits.self, forKey: .units)
        let bpe = try c.decodeIfPresent(BytePairEncoding.self, forKey: .bpe)
        guard (units == .bpe) == (bpe != nil) else {
            throw DecodingError.dataCorruptedError(forKey: .bpe, in: c, debugDescription: "subword units without their merges")
        }
        self.init(units: units, symbols: try c.decode([String].self, forKey: .symbols), bpe: bpe)
    }

    /// Throws unless a model can be built over this vocabulary: the three specials and at least
    /// one symbol more, at most 2²⁴ in all, no symbol twice (a damaged checkpoint's vocabulary is
    /// checked here before any layer is made).
    public func validateForModel(_ side: String) throws {
        guard symbols.count >= 4, symbols.count <= 1 << 24 else {
            throw LoomError.invalidArgument("the \(side) vocabulary has \(symbols.count) symbols; a model needs 4 to 16777216")
        }
        guard index.count == symbols.count else {
            throw LoomError.invalidData("the \(side) vocabulary lists a symbol twice")
        }
    }

    public static func == (a: Self, b: Self) -> Bool { a.units == b.units && a.symbols == b.symbols && a.bpe == b.bpe }

    /// The tokens of `text` in this vocabulary's units (subword pieces for `.bpe`, split
    /// further where a piece is not in the vocabulary).
    public func tokens(_ text: String) -> [String] {
        if let bpe { return bpe.split(text) { index[$0] != nil } }
        return Tokens.split(text, units)
    }

    /// A vocabulary of `units` for `texts`: for `.bpe`, `merges` merges are learned from the
    /// texts' words first.
    public static func learn(_ texts: [String], units: SequenceUnits, merges: Int, maxSize: Int = .max) -> SequenceVocabulary {
        guard units == .bpe else { return build(texts.map { Tokens.split($0, units) }, units: units, maxSize: maxSize) }
        var counts: [String: Int] = [:]
        for t in texts { for w in Tokens.split(t, .word) { counts[w, default: 0] += 1 } }
        let bpe = BytePairEncoding.learn(counts, merges: merges)
        return build(texts.map { bpe.split($0) }, units: units, maxSize: maxSize, bpe: bpe)
    }

    /// The symbols of `sequences`, most frequent first (ties by first appearance), at most
    /// `maxSize` in all with the three specials; symbols seen fewer than `minCount` times are left out.
    public static func build(_ sequences: [[String]], units: SequenceUnits, maxSize: Int = .max,
                             minCount: Int = 1, bpe: BytePairEncoding? = nil) -> SequenceVocabulary {
        var counts: [String: Int] = [:]
        var order: [String] = []
        for seq in sequences {
            for s in seq {
                if counts[s] == nil { order.append(s) }
                counts[s, default: 0] += 1
            }
        }
        let first = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        let ranked = order.filter { counts[$0]! >= minCount }
            .sorted { counts[$0]! != counts[$1]! ? counts[$0]! > counts[$1]! : first[$0]! < first[$1]! }
        return SequenceVocabulary(units: units, symbols: ["<unk>", "<s>", "</s>"] + ranked.prefix(max(0, maxSize - 3)), bpe: bpe)
    }

    public var count: Int { symbols.count }

    /// The id of `symbol`, or nil when the vocabulary lacks it.
    public func id(_ symbol: String) -> Int32? { index[symbol] }

    /// Ids of `tokens`; unknown ones become `<unk>` and are reported in `unknown`.
    public func encode(_ tokens: [String], unknown: inout [String]) -> [Int32] {
        tokens.map { t in
            if let i = index[t] { return i }
            unknown.append(t)
            return Self.unknown
        }
    }

    /// Text of `ids`, stopping at `</s>`; `<s>` is skipped.
    public func decode(_ ids: [Int32]) -> String {
        var tokens: [String] = []
        for i in ids {
            if i == Self.end { break }
            if i == Self.start { continue }
            tokens.append(i >= 0 && Int(i) < symbols.count ? symbols[Int(i)] : "<unk>")
        }
        return Tokens.join(tokens, units)
    }
}
