import Foundation
import LoomCore
import LoomData

/// One source sequence and its references (the first is the training target).
public struct SequencePair: Sendable, Equatable {
    public var source: String
    public var references: [String]
    /// 1-based line in the file it came from (0 when made in memory).
    public var line: Int

    public init(source: String, references: [String], line: Int = 0) {
        self.source = source
        self.references = references
        self.line = line
    }

    public var target: String { references[0] }
}

/// Reading `source<TAB>target[<TAB>more references]` files, and the built-in tasks.
public enum PairFile {
    /// Reads a tab-separated pairs file. Every problem is a clear error naming the line:
    /// a missing file, binary data, a line without a tab, an empty side.
    public static func read(_ url: URL) throws -> [SequencePair] {
        try parse(TextFile.readLines(url, what: "source<TAB>target pairs"), source: url.path)
    }

    /// Pairs from the text of a pairs file (`source` names it in messages).
    public static func parse(_ text: String, source: String) throws -> [SequencePair] {
        var pairs: [SequencePair] = []
        var number = 0
        // "\r\n" is one Character in Swift, and a newline.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            number += 1
            if line.allSatisfy(\.isWhitespace) { continue }
            if line.contains("\u{0}") { throw LoomError.invalidData("\(source):\(number): binary data (a NUL byte)") }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard fields.count >= 2 else {
                throw LoomError.invalidData("\(source):\(number): no tab; each line must be source<TAB>target[<TAB>more references]")
            }
            guard !fields[0].isEmpty else { throw LoomError.invalidData("\(source):\(number): the source side is empty") }
            let refs = Array(fields.dropFirst()).filter { !$0.isEmpty }
            guard !refs.isEmpty else { throw LoomError.invalidData("\(source):\(number): the target side is empty") }
            pairs.append(SequencePair(source: fields[0], references: refs, line: number))
        }
        guard !pairs.isEmpty else { throw LoomError.invalidData("\(source) has no pairs") }
        return pairs
    }

    // MARK: Word mirroring

    /// The course's exercise: windows of `minWords...maxWords` words from `text`, each word's
    /// letters reversed ("the quick brown fox" → "eht kciuq nworb xof"). Windows are cut at
    /// seeded random lengths, one after another, so they do not overlap.
    public static func mirroredWindows(_ words: ArraySlice<String>, minWords: Int, maxWords: Int, count: Int,
                                       seed: UInt64) -> [SequencePair] {
        var rng = SeededGenerator(seed: seed)
        var pairs: [SequencePair] = []
        var i = words.startIndex
        while pairs.count < count && i < words.endIndex {
            let n = minWords + Int(rng.next() % UInt64(maxWords - minWords + 1))
            guard i + n <= words.endIndex else { break }
            let window = words[i..<(i + n)]
            pairs.append(SequencePair(source: window.joined(separator: " "),
                                      references: [window.map { String($0.reversed()) }.joined(separator: " ")]))
            i += n
        }
        return pairs
    }

    /// Words of a text file, at most `limit` of them.
    public static func words(of url: URL, limit: Int = .max) throws -> [String] {
        try TextFile.checkReadableText(url)
        guard let handle = FileHandle(forReadingAtPath: url.path) else { throw LoomError.io("cannot open \(url.path)") }
        defer { try? handle.close() }
        // Enough bytes for `limit` words of text8 (about 5.5 bytes a word), read at once.
        let bytes = limit == .max ? handle.readDataToEndOfFile() : handle.readData(ofLength: min(limit, 1 << 27 / 8) * 8)
        let text = String(decoding: bytes, as: UTF8.self)
        var words = text.split(whereSeparator: \.isWhitespace).map(String.init)
        if words.count > limit { words.removeLast(words.count - limit) }
        guard !words.isEmpty else { throw LoomError.invalidData("\(url.path) has no words") }
        return words
    }

    // MARK: Grapheme to phoneme

    /// The CMU Pronouncing Dictionary (`word PH1 PH2 …`, alternatives `word(2)`, `#` comments) as
    /// letters → phonemes without stress digits, words matching `[a-z']+`, every pronunciation
    /// of a word as a reference (in the dictionary's order).
    public static func pronunciations(_ url: URL) throws -> [String: [String]] {
        let text = try TextFile.readLines(url, what: "pronunciations (word PH1 PH2 …)")
        var out: [String: [String]] = [:]
        let allowed = Set("abcdefghijklmnopqrstuvwxyz'")
        for (n, raw) in text.split(separator: "\n").enumerated() {
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let fields = line.split(separator: " ")
            guard fields.count >= 2 else {
                if fields.isEmpty { continue }
                throw LoomError.invalidData("\(url.path):\(n + 1): a word without phonemes")
            }
            var word = String(fields[0])
            if let paren = word.firstIndex(of: "(") { word = String(word[..<paren]) }
            guard !word.isEmpty, word.allSatisfy(allowed.contains) else { continue }
            let phonemes = fields.dropFirst().map { $0.filter { !$0.isNumber } }.joined(separator: " ")
            out[word, default: []].append(phonemes)
        }
        guard !out.isEmpty else { throw LoomError.invalidData("\(url.path) has no pronunciations") }
        return out
    }
}

/// Training, validation and test pairs of a task.
public struct PairSplit: Sendable {
    public var train: [SequencePair]
    public var valid: [SequencePair]
    public var test: [SequencePair]
    /// Named parts of `test` scored on their own as well (e.g. windows longer than any in training).
    public var testGroups: [(name: String, range: Range<Int>)]

    public init(train: [SequencePair], valid: [SequencePair], test: [SequencePair],
                testGroups: [(name: String, range: Range<Int>)] = []) {
        self.train = train
        self.valid = valid
        self.test = test
        self.testGroups = testGroups
    }

    /// The course's word mirroring on `text`: training windows of 2–6 words from its first 90%
    /// (at most `maxLength` characters), 500 validation and 1,500 test windows of 2–6 words from
    /// the rest, and 500 longer test windows (7–10 words) than any seen in training. The held-out
    /// windows do not depend on `seed`.
    public static func reverseWords(text url: URL, windows: Int, seed: UInt64, maxLength: Int) throws -> PairSplit {
        let words = try PairFile.words(of: url)
        guard words.count >= 100 else { throw LoomError.invalidData("\(url.path) has \(words.count) words; the task needs at least 100") }
        let cut = words.count * 9 / 10
        let train = PairFile.mirroredWindows(words[..<cut], minWords: 2, maxWords: 6, count: windows, seed: seed)
            .filter { $0.source.count <= maxLength }
        let held = PairFile.mirroredWindows(words[cut...], minWords: 2, maxWords: 6, count: 2_000, seed: 7)
        let long = PairFile.mirroredWindows(words[(cut + words.count / 20)...], minWords: 7, maxWords: 10, count: 500, seed: 8)
        let test = Array(held.dropFirst(500))
        return PairSplit(train: train, valid: Array(held.prefix(500)), test: test + long,
                         testGroups: [("2–6 words, as in training", 0..<test.count),
                                      ("7–10 words, longer than any in training", test.count..<(test.count + long.count))])
    }

    /// The fixed G2P split of `folder` (`cmudict.dict`, `test-words.txt`, `valid-words.txt`):
    /// train on every other word. Sources are the words (read by character), targets their
    /// phonemes (space-separated symbols).
    public static func g2p(folder: URL) throws -> PairSplit {
        let dict = try PairFile.pronunciations(folder.appendingPathComponent("cmudict.dict"))
        func list(_ name: String) throws -> [String] {
            let url = folder.appendingPathComponent(name)
            return try TextFile.readLines(url, what: "one word per line").split(whereSeparator: \.isNewline).map {
                $0.trimmingCharacters(in: .whitespaces)
            }.filter { !$0.isEmpty }
        }
        let testWords = try list("test-words.txt"), validWords = try list("valid-words.txt")
        let held = Set(testWords).union(validWords)
        func pairs(_ words: [String]) throws -> [SequencePair] {
            try words.map { w in
                guard let refs = dict[w] else { throw LoomError.invalidData("\(w) is in the split but not in cmudict.dict") }
                return SequencePair(source: w, references: refs)
            }
        }
        let trainWords = dict.keys.filter { !held.contains($0) }.sorted()
        return PairSplit(train: try pairs(trainWords), valid: try pairs(validWords), test: try pairs(testWords))
    }

    /// A pairs file, with `validFraction` of it held out (seeded) unless `valid` is given; the
    /// test set is the whole file.
    public static func file(_ url: URL, valid: URL?, validFraction: Double, seed: UInt64) throws -> PairSplit {
        let all = try PairFile.read(url)
        if let valid { return PairSplit(train: all, valid: try PairFile.read(valid), test: all) }
        var rng = SeededGenerator(seed: seed ^ 0xA11)
        let shuffled = all.shuffled(using: &rng)
        let n = validFraction > 0 ? max(1, Int(Double(all.count) * validFraction)) : 0
        guard n < all.count else { throw LoomError.invalidData("\(url.path) has too few pairs to hold out \(n) for validation") }
        return PairSplit(train: Array(shuffled.dropFirst(n)), valid: Array(shuffled.prefix(n)), test: all)
    }

    /// Writes `pairs` as a pairs file (every reference a column).
    public static func write(_ pairs: [SequencePair], to url: URL) throws {
        let text = pairs.map { ([$0.source] + $0.references).joined(separator: "\t") }.joined(separator: "\n") + "\n"
        try AtomicFileWriter.write(Data(text.utf8), to: url)
    }
}
