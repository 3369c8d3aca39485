import Foundation
import LoomCore

/// How a corpus becomes a vocabulary and an id stream.
public struct CorpusOptions: Equatable, Sendable {
    /// Most ids in the vocabulary, `UNK` included (the course's `vocabulary_size`); nil for no limit.
    public var maxVocabulary: Int? = 50_000
    /// Words seen fewer times are left out (word2vec's `-min-count`).
    public var minCount: Int = 5
    public var normalization: TokenNormalization = .lowercase
    /// What happens to words left out of the vocabulary.
    public var outOfVocabulary: OutOfVocabulary = .unknown

    public enum OutOfVocabulary: String, Sendable, CaseIterable {
        /// Mapped to `UNK`, id 0 (the course).
        case unknown = "unk"
        /// Removed from the stream (word2vec and gensim).
        case drop
    }

    public init(maxVocabulary: Int? = 50_000, minCount: Int = 5, normalization: TokenNormalization = .lowercase,
                outOfVocabulary: OutOfVocabulary = .unknown) {
        self.maxVocabulary = maxVocabulary
        self.minCount = minCount
        self.normalization = normalization
        self.outOfVocabulary = outOfVocabulary
    }
}

/// A tokenised corpus: its vocabulary and the whole text as ids.
///
/// `load(_:options:progress:)` keeps the id stream in memory (4 bytes a word);
/// `load(_:options:cache:progress:)` builds the vocabulary in one streaming pass, writes the ids
/// once to a file in the cache and maps it, so memory grows with the vocabulary, not the corpus,
/// and a later load of the same file is a map. Either way the file is streamed in 1 MiB chunks,
/// and words exist as `String`s only once each, in the vocabulary.
public struct Corpus: Sendable {
    public let vocabulary: Vocabulary
    /// The corpus as vocabulary ids.
    public let ids: IDStream
    /// Tokens in the file before out-of-vocabulary words were dropped (equal to `ids.count` with `UNK`).
    public let tokenCount: Int
    /// Distinct words in the file.
    public let distinctWords: Int

    public init(vocabulary: Vocabulary, ids: IDStream, tokenCount: Int, distinctWords: Int) {
        self.vocabulary = vocabulary
        self.ids = ids
        self.tokenCount = tokenCount
        self.distinctWords = distinctWords
    }

    public init(vocabulary: Vocabulary, ids: [Int32], tokenCount: Int, distinctWords: Int) {
        self.init(vocabulary: vocabulary, ids: IDStream(ids), tokenCount: tokenCount, distinctWords: distinctWords)
    }

    /// Reads `url` once: counts words, ranks them, and maps the text to ids in memory.
    public static func load(_ url: URL, options: CorpusOptions = CorpusOptions(),
                            progress: ((_ bytesRead: Int) -> Void)? = nil) throws -> Corpus {
        try checkOptions(url, options)
        // One pass: intern each word (dense index by first appearance) and keep that index.
        let table = WordTable()
        var stream: [Int32] = []
        let fileSize = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        // Room for a word every 4 bytes: no reallocation (and no doubled peak) for ordinary text;
        // pages never written are never resident.
        stream.reserveCapacity(max(1024, fileSize / 4 + 1024))
        var bytes = 0
        try Tokenizer(normalization: options.normalization).forEachWord(in: url) { word in
            stream.append(table.intern(word))
            bytes += word.count + 1
            if bytes >= 1 << 24 {
                progress?(bytes)
                bytes = 0
            }
        }
        let ranking = try Ranking(table, options: options, source: url)
        // Remap the stream in place: index → id (UNK is id 0), or dropped.
        var kept = 0
        stream.withUnsafeMutableBufferPointer { s in
            for i in 0..<s.count {
                let id = ranking.remap[Int(s[i])]
                if id >= 0 {
                    s[kept] = id
                    kept += 1
                }
            }
        }
        stream.removeLast(stream.count - kept)
        return Corpus(vocabulary: ranking.vocabulary, ids: stream, tokenCount: ranking.tokenCount, distinctWords: table.count)
    }

    /// Reads `url` without holding its id stream: one streaming pass counts and ranks the words,
    /// a second writes every id to `cache` (atomically; `<key>.ids` and `<key>.vocab`, the key a
    /// hash of the file's path, size, modification time and `options`), and the id file is mapped.
    /// A later load of the unchanged file with the same options maps the cached files at once.
    public static func load(_ url: URL, options: CorpusOptions = CorpusOptions(), cache: URL,
                            progress: ((_ bytesRead: Int) -> Void)? = nil) throws -> Corpus {
        try checkOptions(url, options)
        let key = try IDCache.key(url, options)
        if let cached = try IDCache.open(key, in: cache) { return cached }

        let table = WordTable()
        var bytes = 0
        let tokenizer = Tokenizer(normalization: options.normalization)
        try tokenizer.forEachWord(in: url) { word in
            _ = table.intern(word)
            bytes += word.count + 1
            if bytes >= 1 << 24 { progress?(bytes); bytes = 0 }
        }
        let ranking = try Ranking(table, options: options, source: url)
        try IDCache.write(key, in: cache, vocabulary: ranking.vocabulary, tokenCount: ranking.tokenCount,
                          distinctWords: table.count) { emit in
            try tokenizer.forEachWord(in: url) { word in
                // Every word is in the table: the second pass reads the same file.
                guard let index = table.find(word) else {
                    throw LoomError.io("\(url.path) changed while it was read (a word of the second pass was not in the first)")
                }
                let id = ranking.remap[Int(index)]
                if id >= 0 { try emit(id) }
                bytes += word.count + 1
                if bytes >= 1 << 24 { progress?(bytes); bytes = 0 }
            }
        }
        guard let corpus = try IDCache.open(key, in: cache) else {
            throw LoomError.io("the id cache \(cache.path) lost the file just written")
        }
        return corpus
    }

    private static func checkOptions(_ url: URL, _ options: CorpusOptions) throws {
        try TextFile.checkReadableText(url)
        if let m = options.maxVocabulary, m < 1 { throw LoomError.invalidArgument("--max-vocab must be at least 1") }
        if options.minCount < 1 { throw LoomError.invalidArgument("--min-count must be at least 1") }
    }

    /// The vocabulary of the interned words and the id each dense index becomes.
    struct Ranking {
        let vocabulary: Vocabulary
        /// Dense index → id (UNK is id 0), or −1 for a word dropped.
        let remap: [Int32]
        let tokenCount: Int

        init(_ table: WordTable, options: CorpusOptions, source url: URL) throws {
            let counts = table.counts
            tokenCount = counts.reduce(0, +)
            guard tokenCount > 0 else {
                throw LoomError.invalidData("\(url.path) contains no words (normalisation: \(options.normalization.rawValue))")
            }
            // Rank: by count, ties by first appearance (as Python's Counter.most_common in the course).
            let withUnknown = options.outOfVocabulary == .unknown
            var order = Array(0..<table.count).filter { counts[$0] >= options.minCount }
            order.sort { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
            let capacity = options.maxVocabulary.map { withUnknown ? $0 - 1 : $0 } ?? order.count
            if order.count > capacity { order.removeLast(order.count - capacity) }
            guard !order.isEmpty || withUnknown else {
                throw LoomError.invalidData("\(url.path): no word occurs at least \(options.minCount) times; lower --min-count")
            }
            let offset: Int32 = withUnknown ? 1 : 0
            var remap = [Int32](repeating: withUnknown ? 0 : -1, count: table.count)
            for (rank, index) in order.enumerated() { remap[index] = Int32(rank) + offset }
            self.remap = remap
            var words = order.map { table.word($0) }
            var vocabCounts = order.map { counts[$0] }
            if withUnknown {
                words.insert(Vocabulary.unknownToken, at: 0)
                vocabCounts.insert(tokenCount - vocabCounts.reduce(0, +), at: 0)
            }
            // A corpus may itself contain the token UNK: keep it apart from the unknown id.
            if withUnknown, let clash = words.dropFirst().firstIndex(of: Vocabulary.unknownToken) {
                words[clash] = Vocabulary.unknownToken + "_"
            }
            vocabulary = try Vocabulary(words: words, counts: vocabCounts, unknownID: withUnknown ? 0 : nil)
        }
    }

    /// Maps text to ids with an existing vocabulary (unknown words become `UNK` or are dropped).
    public static func ids(of url: URL, vocabulary: Vocabulary, normalization: TokenNormalization) throws -> [Int32] {
        try TextFile.checkReadableText(url)
        let table = WordTable(capacity: vocabulary.count * 2)
        for w in vocabulary.words { var s = w; s.withUTF8 { _ = table.intern(UnsafeRawBufferPointer($0), increment: 0) } }
        var ids: [Int32] = []
        try Tokenizer(normalization: normalization).forEachWord(in: url) { word in
            if let id = table.find(word) { ids.append(id) } else if let unk = vocabulary.unknownID { ids.append(Int32(unk)) }
        }
        return ids
    }
}
