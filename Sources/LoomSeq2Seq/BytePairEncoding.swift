import Foundation

/// Subword units by byte-pair encoding (Sennrich, Haddow and Birch, 2016): starting from
/// characters, the most frequent adjacent pair of symbols in the training words is merged into
/// one symbol, `merges` times. A rare word then splits into a few frequent pieces instead of
/// becoming `<unk>`, and the vocabulary stays small.
///
/// Pieces follow subword-nmt's convention: every piece of a word but the last ends in `@@`
/// ("unbenommen" → `un@@`, `ben@@`, `ommen`), so `Tokens.join(_:.bpe)` can glue them back.
public struct BytePairEncoding: Codable, Equatable, Sendable {
    /// The merges in the order they were learned, each as its two symbols; the last symbol of a
    /// word carries the end-of-word mark `</w>`.
    public let merges: [[String]]
    private var rank: [String: Int] = [:]
    /// The two symbols each merged symbol was made of.
    private var parts: [String: (String, String)] = [:]

    public static let endOfWord = "</w>"
    public static let continuation = "@@"

    enum CodingKeys: String, CodingKey { case merges }

    public init(merges: [[String]]) {
        self.merges = merges
        for (i, m) in merges.enumerated() where m.count == 2 {
            rank[Self.key(m[0], m[1])] = rank[Self.key(m[0], m[1])] ?? i
            parts[m[0] + m[1]] = parts[m[0] + m[1]] ?? (m[0], m[1])
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(merges: try c.decode([[String]].self, forKey: .merges))
    }

    public static func == (a: Self, b: Self) -> Bool { a.merges == b.merges }

    private static func key(_ a: String, _ b: String) -> String { a + "\u{1F}" + b }

    /// Learns up to `merges` merges from words and their counts; stops early when no pair is
    /// seen twice. Ties go to the pair whose symbols sort first, so the result depends only on
    /// the counts.
    public static func learn(_ counts: [String: Int], merges: Int) -> BytePairEncoding {
        var names: [String] = []
        var ids: [String: Int32] = [:]
        func id(_ s: String) -> Int32 {
            if let i = ids[s] { return i }
            names.append(s)
            ids[s] = Int32(names.count - 1)
            return Int32(names.count - 1)
        }
        // Words as symbol ids, in a fixed order.
        let vocabulary = counts.keys.sorted()
        var words: [[Int32]] = vocabulary.map { w in
            var chars = w.map(String.init)
            chars[chars.count - 1] += endOfWord
            return chars.map(id)
        }
        let freq = vocabulary.map { counts[$0]! }
        @inline(__always) func pair(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }
        var pairCounts: [UInt64: Int] = [:]
        var where_: [UInt64: Set<Int32>] = [:]
        for (w, symbols) in words.enumerated() where symbols.count > 1 {
            for i in 0..<(symbols.count - 1) {
                let p = pair(symbols[i], symbols[i + 1])
                pairCounts[p, default: 0] += freq[w]
                where_[p, default: []].insert(Int32(w))
            }
        }
        var learned: [[String]] = []
        learned.reserveCapacity(merges)
        while learned.count < merges {
            var best: UInt64?, bestCount = 1
            for (p, n) in pairCounts where n >= bestCount {
                if n > bestCount || best == nil {
                    best = p; bestCount = n
                } else if let b = best {
                    let (pa, pb) = (names[Int(p >> 32)], names[Int(p & 0xFFFF_FFFF)])
                    let (ba, bb) = (names[Int(b >> 32)], names[Int(b & 0xFFFF_FFFF)])
                    if (pa, pb) < (ba, bb) { best = p }
                }
            }
            guard let b = best, bestCount >= 2 else { break }
            let a = Int32(b >> 32), c = Int32(b & 0xFFFF_FFFF)
            learned.append([names[Int(a)], names[Int(c)]])
            let merged = id(names[Int(a)] + names[Int(c)])
            for w in where_[b] ?? [] {
                let old = words[Int(w)], n = freq[Int(w)]
                for i in 0..<(old.count - 1) {
                    let p = pair(old[i], old[i + 1])
                    pairCounts[p]! -= n
                    if pairCounts[p]! <= 0 { pairCounts[p] = nil }
                }
                var new: [Int32] = []
                new.reserveCapacity(old.count)
                var i = 0
                while i < old.count {
                    if i + 1 < old.count && old[i] == a && old[i + 1] == c {
                        new.append(merged); i += 2
                    } else {
                        new.append(old[i]); i += 1
                    }
                }
                words[Int(w)] = new
                if new.count > 1 {
                    for i in 0..<(new.count - 1) {
                        let p = pair(new[i], new[i + 1])
                        pairCounts[p, default: 0] += n
                        where_[p, default: []].insert(w)
                    }
                }
            }
            where_[b] = nil
            pairCounts[b] = nil
        }
        return BytePairEncoding(merges: learned)
    }

    /// The pieces of one word (no spaces in it), non-final ones marked with `@@`. A piece for
    /// which `known` is false is split back into the two it was merged from, as far as that
    /// goes (a new word's pieces may be ones the training words never ended at).
    public func pieces(_ word: String, known: ((String) -> Bool)? = nil) -> [String] {
        guard !word.isEmpty else { return [] }
        var symbols = word.map(String.init)
        symbols[symbols.count - 1] += Self.endOfWord
        // Repeatedly apply the earliest-learned merge present (the order they were learned in).
        while symbols.count > 1 {
            var bestRank = Int.max, at = -1
            for i in 0..<(symbols.count - 1) {
                if let r = rank[Self.key(symbols[i], symbols[i + 1])], r < bestRank { bestRank = r; at = i }
            }
            guard at >= 0 else { break }
            let a = symbols[at], b = symbols[at + 1]
            var merged: [String] = []
            var i = 0
            while i < symbols.count {
                if i + 1 < symbols.count && symbols[i] == a && symbols[i + 1] == b {
                    merged.append(a + b); i += 2
                } else {
                    merged.append(symbols[i]); i += 1
                }
            }
            symbols = merged
        }
        func external(_ s: String) -> String {
            s.hasSuffix(Self.endOfWord) ? String(s.dropLast(Self.endOfWord.count)) : s + Self.continuation
        }
        guard let known else { return symbols.map(external) }
        var out: [String] = []
        func emit(_ s: String) {
            if !known(external(s)), let (a, b) = parts[s] {
                emit(a); emit(b)
            } else {
                out.append(external(s))
            }
        }
        symbols.forEach(emit)
        return out
    }

    /// Pieces of `text`: its words (as `Tokens.split(_:.word)` finds them), each split.
    public func split(_ text: String, known: ((String) -> Bool)? = nil) -> [String] {
        Tokens.split(text, .word).flatMap { pieces($0, known: known) }
    }
}
