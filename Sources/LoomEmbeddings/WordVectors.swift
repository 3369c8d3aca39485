import Foundation
import LoomCore

/// Word vectors on the host: a vocabulary and one row of `dimension` floats per word.
///
/// The value every word2vec run ends with, independent of the device it trained on. It writes
/// and reads the word2vec text and binary formats (gensim loads both), writes TensorBoard
/// projector files and a vocabulary file, finds nearest neighbours and solves analogies with
/// cosine similarity, and evaluates on analogy questions and word-pair similarity files.
///
/// Every instance satisfies, checked by `init`:
/// - `vectors.count == words.count · dimension`, `dimension ≥ 1`;
/// - every value is finite;
/// - every word is non-empty, unique, and free of ASCII whitespace and control characters
///   (so each can be written in every format and read back);
/// - `counts`, when present, has one non-negative count per word.
///
/// Copies share the L2-normalised vectors similarity queries compute once on first use.
public struct WordVectors: Sendable {
    /// The vocabulary; a word's position is its id. Vectors from training come by descending
    /// frequency, which `restrictVocab` arguments rely on ("the first N words").
    public let words: [String]
    /// D, the length of every vector.
    public let dimension: Int
    /// `(V, D)` row-major: row `i` is the vector of `words[i]`.
    public let vectors: [Float]
    /// `(V)` corpus frequencies, when known (from training, not from word2vec files).
    public let counts: [Int]?

    /// word → id, built once.
    let ids: [String: Int]
    /// Unit-length copies of the rows, computed on first use.
    let unitCache: UnitVectorCache

    /// Checks the invariants above.
    /// - Parameters:
    ///   - words: `(V)` distinct words.
    ///   - dimension: D ≥ 1.
    ///   - vectors: `(V, D)` row-major.
    ///   - counts: `(V)` frequencies, or nil.
    /// - Throws: `LoomError.invalidData` naming the first problem.
    public init(words: [String], dimension: Int, vectors: [Float], counts: [Int]? = nil) throws {
        let context = "word vectors"
        guard dimension >= 1, dimension <= WordVectors.maximumDimension else {
            throw LoomError.invalidData("\(context): dimension must be between 1 and \(WordVectors.maximumDimension), got \(dimension)")
        }
        guard words.count < Int(Int32.max) else {
            throw LoomError.invalidData("\(context): \(words.count) words is more than BLAS can index")
        }
        let (expected, overflow) = words.count.multipliedReportingOverflow(by: dimension)
        guard !overflow, vectors.count == expected else {
            throw LoomError.invalidData(
                "\(context): \(vectors.count) values, expected \(words.count) words × \(dimension) = \(words.count &* dimension)")
        }
        if let counts {
            guard counts.count == words.count else {
                throw LoomError.invalidData("\(context): \(counts.count) counts for \(words.count) words")
            }
            if let i = counts.firstIndex(where: { $0 < 0 }) {
                throw LoomError.invalidData("\(context): word \(i) (\(quoted(words[i]))) has a negative count \(counts[i])")
            }
        }
        for (i, word) in words.enumerated() {
            if let problem = WordCheck.problem(word) {
                throw LoomError.invalidData("\(context): word \(i) (\(quoted(word))) \(problem)")
            }
        }
        if let (row, column) = vectors.withUnsafeBufferPointer({ WordVectors.firstNonFinite($0, dimension: dimension) }) {
            throw LoomError.invalidData("\(context): vector \(row) (\(quoted(words[row]))) has a non-finite value "
                                            + "\(vectors[row * dimension + column]) at position \(column)")
        }
        let ids = try WordVectors.index(words) { word, first, second in
            LoomError.invalidData("\(context): duplicate word \(quoted(word)) (ids \(first) and \(second))")
        }
        self.init(validatedWords: words, dimension: dimension, vectors: vectors, counts: counts, ids: ids)
    }

    /// For readers that checked everything already.
    init(validatedWords words: [String], dimension: Int, vectors: [Float], counts: [Int]?, ids: [String: Int]) {
        self.words = words
        self.dimension = dimension
        self.vectors = vectors
        self.counts = counts
        self.ids = ids
        self.unitCache = UnitVectorCache()
    }

    /// The largest dimension accepted (a guard against corrupt headers).
    static let maximumDimension = 1 << 20

    /// V, the number of words.
    public var count: Int { words.count }

    /// The id of `word` (exact, case-sensitive match), or nil.
    public func index(of word: String) -> Int? { ids[word] }

    /// `(D)` the vector of `word`, or nil when it is not in the vocabulary.
    public func vector(of word: String) -> ArraySlice<Float>? {
        guard let i = ids[word] else { return nil }
        return vector(at: i)
    }

    /// `(D)` row `index` of `vectors`. `index` must lie in `0..<count`.
    public func vector(at index: Int) -> ArraySlice<Float> {
        vectors[(index * dimension)..<((index + 1) * dimension)]
    }

    /// word → id, failing on the first duplicate with the error `duplicate` makes.
    static func index(_ words: [String], duplicate: (String, Int, Int) -> LoomError) throws -> [String: Int] {
        var ids: [String: Int] = [:]
        ids.reserveCapacity(words.count)
        for (i, word) in words.enumerated() {
            if let first = ids.updateValue(i, forKey: word) { throw duplicate(word, first, i) }
        }
        return ids
    }

    /// Row and column of the first NaN or infinity in a `(V, D)` buffer.
    static func firstNonFinite(_ values: UnsafeBufferPointer<Float>, dimension: Int) -> (Int, Int)? {
        // A branch-free scan first (vectorises); the position only when something is wrong.
        var bad = false
        for v in values { bad = bad || !v.isFinite }
        guard bad, let i = values.firstIndex(where: { !$0.isFinite }) else { return nil }
        return (i / dimension, i % dimension)
    }
}

extension WordVectors: Equatable {
    /// Same words, dimension, counts, and bit-identical vectors.
    public static func == (lhs: WordVectors, rhs: WordVectors) -> Bool {
        lhs.dimension == rhs.dimension && lhs.words == rhs.words && lhs.counts == rhs.counts
            && lhs.vectors.count == rhs.vectors.count
            && zip(lhs.vectors, rhs.vectors).allSatisfy { $0.bitPattern == $1.bitPattern }
    }
}

extension WordVectors: CustomStringConvertible {
    public var description: String { "WordVectors(\(count) words × \(dimension))" }
}

/// What makes a word impossible to write in the word2vec formats.
enum WordCheck {
    /// Nil when `word` is fine, else the reason, phrased to follow the word in a sentence.
    static func problem(_ word: String) -> String? {
        var word = word
        return word.withUTF8 { problem(UnsafeRawBufferPointer($0)) }
    }

    /// The same check on the UTF-8 bytes of a word.
    static func problem(_ bytes: UnsafeRawBufferPointer) -> String? {
        if bytes.isEmpty { return "is empty" }
        if bytes.count > TextLimits.maxWordBytes {
            return "is \(bytes.count) bytes long (a word may hold at most \(TextLimits.maxWordBytes))"
        }
        for b in bytes {
            if b == 0x20 || (b >= 0x09 && b <= 0x0D) { return "contains whitespace" }
            if b < 0x20 || b == 0x7F { return "contains a control character" }
        }
        return nil
    }
}

/// A word for an error message: quoted, control characters escaped, long words cut.
func quoted(_ word: String, limit: Int = 40) -> String {
    var out = ""
    for (n, scalar) in word.unicodeScalars.enumerated() {
        if n == limit { out += "…"; break }
        if scalar.value < 0x20 || scalar.value == 0x7F {
            out += scalar.escaped(asASCII: true)
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return "'\(out)'"
}
