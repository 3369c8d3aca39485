import ArgumentParser
import Foundation
import Loom

extension AnalogyMethod: ExpressibleByArgument {}

/// `--vectors FILE`, loaded with a clear error for a missing or damaged file.
struct VectorsOption: ParsableArguments {
    @Option(help: "Word vectors (word2vec binary or text format, detected from the contents).")
    var vectors: String

    func load() throws -> WordVectors { try WordVectors.load(from: URL(fileURLWithPath: vectors)) }
}

func similarityText(_ s: Float) -> String { String(format: "%.4f", s) }

struct Neighbors: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The nearest words by cosine similarity of the normalised vectors.")

    @OptionGroup var source: VectorsOption
    @Option(help: "Neighbours per word.")
    var k = 8
    @Option(help: "Only consider the first N (most frequent) words as answers.")
    var restrictVocab: Int?
    @Argument(help: "Words to look up.")
    var words: [String]

    func run() throws {
        guard !words.isEmpty else { throw ValidationError("give at least one word") }
        guard k >= 1 else { throw ValidationError("--k must be at least 1") }
        let vectors = try source.load()
        for word in words {
            let nearest = try vectors.mostSimilar(to: word, k: k, restrictVocab: restrictVocab)
            print("\(word):")
            for n in nearest { print("  \(n.word.padding(toLength: max(16, n.word.count), withPad: " ", startingAt: 0)) \(similarityText(n.similarity))") }
        }
    }
}

struct Analogy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Solve a is to b as c is to ?: the words nearest b − a + c (`analogy man king woman` → queen).")

    @OptionGroup var source: VectorsOption
    @Option(help: "Answers to show.")
    var k = 5
    @Option(help: "add (3CosAdd, b − a + c) or mul (3CosMul, Levy & Goldberg).")
    var method: AnalogyMethod = .add
    @Option(help: "Only consider the first N (most frequent) words as answers.")
    var restrictVocab: Int?
    @Argument(help: "a") var a: String
    @Argument(help: "b") var b: String
    @Argument(help: "c") var c: String

    func run() throws {
        let vectors = try source.load()
        let answers = try vectors.analogy(a, b, c, k: k, method: method, restrictVocab: restrictVocab)
        print("\(b) − \(a) + \(c) (\(method == .add ? "3CosAdd" : "3CosMul")):")
        for n in answers { print("  \(n.word.padding(toLength: max(16, n.word.count), withPad: " ", startingAt: 0)) \(similarityText(n.similarity))") }
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate word vectors on analogy questions or word-similarity pairs.",
        subcommands: [EvalAnalogies.self, EvalSimilarity.self])
}

struct EvalAnalogies: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analogies",
        abstract: "Accuracy on word2vec's questions-words format, per section and in total (as gensim).")

    @OptionGroup var source: VectorsOption
    @Option(help: "Candidates and questions limited to the N most frequent words (gensim's restrict_vocab).")
    var restrictVocab = 30_000
    @Option(help: "add (3CosAdd) or mul (3CosMul).")
    var method: AnalogyMethod = .add
    @Flag(help: "Compare words case-sensitively.")
    var caseSensitive = false
    @Argument(help: "Questions file, e.g. questions-words.txt.")
    var file: String

    func run() throws {
        let vectors = try source.load()
        let start = Date()
        let report = try vectors.evaluateAnalogies(file: URL(fileURLWithPath: file), restrictVocab: restrictVocab,
                                                   method: method, caseInsensitive: !caseSensitive)
        writeError(String(format: "evaluated in %.2f s", Date().timeIntervalSince(start)))
        print(report.description)
    }
}

struct EvalSimilarity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similarity",
        abstract: "Spearman's ρ between cosine similarity and human scores (wordsim353, simlex999 formats).")

    @OptionGroup var source: VectorsOption
    @Flag(help: "Compare words case-sensitively.")
    var caseSensitive = false
    @Argument(help: "Word-pair file: `word1 word2 score` per line, # comments.")
    var file: String

    func run() throws {
        let vectors = try source.load()
        let report = try vectors.evaluateSimilarity(file: URL(fileURLWithPath: file), caseInsensitive: !caseSensitive)
        print(report.summaryLine)
    }
}
