import Foundation
import LoomCore

/// The words a model knows, ranked by frequency: id 0 is the most frequent (or `UNK`, standing for
/// every word left out, when the vocabulary has one — as in the course, where `UNK` is id 0).
public struct Vocabulary: Equatable, Sendable {
    /// The token that stands for out-of-vocabulary words.
    public static let unknownToken = "UNK"

    /// Word of each id.
    public let words: [String]
    /// Occurrences of each id in the corpus it was built from (`UNK`: all the words it replaced).
    public let counts: [Int]
    /// The id of `UNK`, if the vocabulary maps unknown words to it.
    public let unknownID: Int?
    private let index: [String: Int]

    public init(words: [String], counts: [Int], unknownID: Int?) throws {
        guard words.count == counts.count else {
            throw LoomError.invalidData("vocabulary has \(words.count) words but \(counts.count) counts")
        }
        var index: [String: Int] = [:]
        index.reserveCapacity(words.count)
        for (i, w) in words.enumerated() {
            if index.updateValue(i, forKey: w) != nil { throw LoomError.invalidData("vocabulary lists '\(w)' twice") }
        }
        self.words = words
        self.counts = counts
        self.unknownID = unknownID
        self.index = index
    }

    public var count: Int { words.count }
    /// Sum of the counts: the number of tokens of the corpus the ids cover.
    public var totalCount: Int { counts.reduce(0, +) }

    /// The id of `word`, or nil when it is not in the vocabulary.
    public func id(of word: String) -> Int? { index[word] }

    /// The id `word` maps to: its own, or `UNK`'s; nil if neither exists.
    public func idOrUnknown(of word: String) -> Int? { index[word] ?? unknownID }

    // MARK: Distributions

    /// Unigram counts raised to `power` and normalised: word2vec's noise distribution with 0.75.
    public func unigramDistribution(power: Double = 0.75) -> [Double] {
        let weights = counts.map { pow(Double(max($0, 0)), power) }
        let total = weights.reduce(0, +)
        return total > 0 ? weights.map { $0 / total } : weights
    }

    /// word2vec's subsampling of frequent words: the probability of keeping each occurrence of an
    /// id, `(√(f/(t·N)) + 1)·(t·N)/f` capped at 1, with `f` its count and `N` the total count.
    /// A `threshold` of 0 keeps everything.
    public func keepProbabilities(threshold: Double) -> [Float] {
        guard threshold > 0 else { return [Float](repeating: 1, count: count) }
        let tn = threshold * Double(totalCount)
        return counts.map { f in
            guard f > 0 else { return 1 }
            let ratio = Double(f) / tn
            return Float(min(1, ((ratio).squareRoot() + 1) / ratio))
        }
    }

    // MARK: Files

    /// Writes `word count` lines (word2vec's `-save-vocab` format), atomically.
    public func write(to url: URL) throws {
        let out = try AtomicFileWriter(url)
        for (w, c) in zip(words, counts) { try out.write("\(w) \(c)\n") }
        try out.commit()
    }

    /// Reads a `word count` file; a line `UNK n` becomes the unknown id.
    public static func read(from url: URL) throws -> Vocabulary {
        let text = try TextFile.readLines(url, what: "a vocabulary ('word count' lines)")
        var words: [String] = [], counts: [Int] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let c = Int(parts[1]), c >= 0 else {
                throw LoomError.invalidData("\(url.path) line \(n + 1): expected 'word count', got '\(line.prefix(60))'")
            }
            words.append(String(parts[0]))
            counts.append(c)
        }
        if words.isEmpty { throw LoomError.invalidData("\(url.path) is an empty vocabulary") }
        return try Vocabulary(words: words, counts: counts, unknownID: words.firstIndex(of: unknownToken))
    }
}
