import Foundation

/// One call of `Backend.word2vecPass`: a run of corpus sentences trained with negative sampling,
/// every centre word's window fused into one small step (HogBatch).
///
/// Sentences are the corpus cut every `sentenceLength` words from position 0; the call trains
/// sentences `firstSentence ..< firstSentence + sentenceCount`. In each sentence, frequent words
/// are subsampled away first (`keep`), then for every centre a window shrunk by a random
/// `b ∈ 0..<window` gives its contexts, and the centre plus `negatives` words drawn once for the
/// window from the alias table are its targets. Random draws are a pure function of
/// (`seed`, `stream`, sentence, draw) on every backend.
public struct Word2VecPass: Equatable, Sendable {
    /// Predict the centre from the sum (or mean) of its contexts, instead of from each context.
    public var cbow = false
    public var cbowMean = true
    public var window = 5
    public var negatives = 5
    public var sentenceLength = 1000
    public var firstSentence = 0
    public var sentenceCount = 0
    /// The sentence the tables' corpus starts at: 0 when it holds the whole corpus, the first
    /// sentence of a window of it otherwise (the sentence numbers, and so the random draws, stay
    /// those of the whole corpus).
    public var corpusFirstSentence = 0
    /// The rate at the first sentence and after the last one; linear in between, per sentence.
    public var learningRate: Float = 0.025
    public var finalLearningRate: Float = 0.025
    public var seed: UInt64 = 1
    /// Distinguishes passes over the same sentences (the epoch).
    public var stream: UInt64 = 0
    /// Sentences trained at the same time, without locks (Hogwild): CPU threads, or OpenCL
    /// work-groups in flight. 1 is deterministic; 0 lets the backend choose.
    public var workers = 0

    public init() {}

    public static let maxWindow = 64
    public static let maxNegatives = 64
}

/// What `Backend.word2vecPass` reads besides the parameters, uploaded once for a whole run.
public struct Word2VecTables {
    /// `(N)` int32 corpus ids, each in `0 ..< V`.
    public let corpus: Tensor
    /// `(V)` probability of keeping each word (subsampling; ≥ 1: always).
    public let keep: Tensor
    /// `(V)` the alias table of the noise distribution: coin and alias of each column.
    public let aliasProbability: Tensor
    public let aliasIndex: Tensor
    /// `(2, 1001)` σ(x) and −log σ(x) at `x = (i / 1000 · 2 − 1) · 6`.
    public let sigmoid: Tensor

    public var vocabulary: Int { keep.count }

    /// The same tables over another corpus tensor (a window of a corpus too large to upload whole).
    package func with(corpus window: Tensor) -> Word2VecTables {
        Word2VecTables(corpus: window, keep: keep, aliasProbability: aliasProbability, aliasIndex: aliasIndex, sigmoid: sigmoid)
    }

    private init(corpus: Tensor, keep: Tensor, aliasProbability: Tensor, aliasIndex: Tensor, sigmoid: Tensor) {
        self.corpus = corpus
        self.keep = keep
        self.aliasProbability = aliasProbability
        self.aliasIndex = aliasIndex
        self.sigmoid = sigmoid
    }

    /// Checks the host arrays once (every id in range, the tables the same length) and uploads them.
    public init(corpus ids: [Int32], keep: [Float], aliasProbability: [Float], aliasIndex: [Int32],
                on backend: any Backend) throws {
        self = try ids.withUnsafeBufferPointer {
            try Word2VecTables(corpus: $0, keep: keep, aliasProbability: aliasProbability, aliasIndex: aliasIndex, on: backend)
        }
    }

    /// The same from ids anywhere in memory (a mapped id file): copied to the device once.
    public init(corpus ids: UnsafeBufferPointer<Int32>, keep: [Float], aliasProbability: [Float], aliasIndex: [Int32],
                on backend: any Backend) throws {
        let v = keep.count
        guard v > 0, aliasProbability.count == v, aliasIndex.count == v else {
            throw LoomError.invalidArgument("word2vec tables: keep, alias probability and alias index must all have one entry per word")
        }
        guard !ids.isEmpty else { throw LoomError.invalidArgument("word2vec tables: the corpus is empty") }
        guard ids.count <= Int(Int32.max) else {
            throw LoomError.invalidArgument("word2vec tables: \(ids.count) corpus words do not fit int32 positions")
        }
        try Check.ids("word2vec tables", ids, .row, bound: v)
        try aliasIndex.withUnsafeBufferPointer { try Check.ids("word2vec alias table", $0, .row, bound: v) }
        corpus = try backend.allocate([ids.count], dtype: .int32)
        try backend.upload(UnsafeRawBufferPointer(ids), to: corpus)
        self.keep = try backend.tensor(keep)
        self.aliasProbability = try backend.tensor(aliasProbability)
        self.aliasIndex = try backend.tensor(aliasIndex)
        sigmoid = try backend.tensor(Self.sigmoidTable(), shape: [2, Self.tableSize + 1])
    }

    package static let tableSize = 1000
    package static let maxExp: Float = 6

    /// word2vec.c's `expTable` (σ at 1001 points over [−6, 6]), then −log σ at the same points,
    /// computed in double and rounded once, so every backend reads the same numbers.
    package static func sigmoidTable() -> [Float] {
        let xs = (0...tableSize).map { (Double($0) / Double(tableSize) * 2 - 1) * Double(maxExp) }
        return xs.map { Float(1 / (1 + exp(-$0))) } + xs.map { Float(log1p(exp(-$0))) }
    }
}
