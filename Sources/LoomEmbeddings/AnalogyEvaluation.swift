import Foundation
import LoomCore

/// The result of `WordVectors.evaluateAnalogies`: accuracy per section of the questions file and
/// over all of it.
public struct AnalogyReport: Equatable, Sendable, CustomStringConvertible {
    /// Counts for one `: section` of the file (or a sum of sections).
    public struct Section: Equatable, Sendable {
        public var name: String
        /// Questions answered correctly (top-1).
        public var correct: Int
        /// Questions whose four words all lie in the candidate vocabulary.
        public var evaluated: Int
        /// Questions in the file.
        public var total: Int

        public init(name: String, correct: Int, evaluated: Int, total: Int) {
            self.name = name; self.correct = correct; self.evaluated = evaluated; self.total = total
        }

        /// `correct / evaluated`, 0 when nothing was evaluated.
        public var accuracy: Double { evaluated == 0 ? 0 : Double(correct) / Double(evaluated) }
        /// `evaluated / total`, 0 for no questions.
        public var coverage: Double { total == 0 ? 0 : Double(evaluated) / Double(total) }
        /// Questions skipped as out of vocabulary.
        public var outOfVocabulary: Int { total - evaluated }
        /// Whether this is a syntactic section: its name starts with `gram`, as in
        /// `questions-words.txt` (`gram1-adjective-to-adverb`, …).
        public var isSyntactic: Bool { name.hasPrefix("gram") }
    }

    /// The sections in file order.
    public var sections: [Section]
    public var method: AnalogyMethod
    /// How many leading words were candidates (at most the vocabulary size).
    public var restrictVocab: Int

    public init(sections: [Section], method: AnalogyMethod, restrictVocab: Int) {
        self.sections = sections; self.method = method; self.restrictVocab = restrictVocab
    }

    /// All sections summed.
    public var totals: Section { Self.sum(sections, "total") }
    /// The sections not starting with `gram`.
    public var semantic: Section { Self.sum(sections.filter { !$0.isSyntactic }, "semantic") }
    /// The sections starting with `gram`.
    public var syntactic: Section { Self.sum(sections.filter(\.isSyntactic), "syntactic") }

    /// Overall `correct / evaluated`.
    public var accuracy: Double { totals.accuracy }
    /// Overall `evaluated / total`.
    public var coverage: Double { totals.coverage }

    /// `total accuracy: 34.2% (4251/12427, coverage 63.6%)`.
    public var summaryLine: String {
        let t = totals
        return "total accuracy: \(Self.percent(t.accuracy)) (\(t.correct)/\(t.evaluated), coverage \(Self.percent(t.coverage)))"
    }

    /// One line per section, then the semantic and syntactic subtotals and the summary line.
    public var description: String {
        var lines = sections.map(Self.line)
        lines.append(Self.line(semantic))
        lines.append(Self.line(syntactic))
        lines.append(summaryLine)
        return lines.joined(separator: "\n")
    }

    static func line(_ s: Section) -> String {
        "\(s.name): \(percent(s.accuracy)) (\(s.correct)/\(s.evaluated), coverage \(percent(s.coverage)))"
    }

    static func percent(_ fraction: Double) -> String { String(format: "%.1f%%", 100 * fraction) }

    static func sum(_ sections: [Section], _ name: String) -> Section {
        sections.reduce(Section(name: name, correct: 0, evaluated: 0, total: 0)) {
            Section(name: name, correct: $0.correct + $1.correct, evaluated: $0.evaluated + $1.evaluated,
                    total: $0.total + $1.total)
        }
    }
}

extension WordVectors {
    /// Accuracy on analogy questions in word2vec's `questions-words.txt` format: `: section` lines,
    /// each followed by questions `a b c d` meaning "a is to b as c is to d".
    ///
    /// Mirrors gensim's `KeyedVectors.evaluate_word_analogies(file, restrict_vocab,
    /// case_insensitive)`: only the first `restrictVocab` words are candidates, and a question is
    /// evaluated only when all four of its words are among them (else it counts as out of
    /// vocabulary). Case-insensitive matching compares upper-cased spellings, and a spelling
    /// stands for its most frequent word. The prediction is the best-scoring candidate other than
    /// a, b and c (among gensim's top 5); questions are scored in blocks with `cblas_sgemm`.
    ///
    /// - Throws: `LoomError.io` for a missing file; `LoomError.invalidData` for an empty file, one
    ///   with no questions, a question before the first section, or a line that is neither a
    ///   section nor four words (blank lines are skipped).
    public func evaluateAnalogies(file url: URL, restrictVocab: Int = 30000, method: AnalogyMethod = .add,
                                  caseInsensitive: Bool = true) throws -> AnalogyReport {
        let rows = try candidateRows(restrictVocab)
        let file = try EvaluationFile(url, what: "analogy questions")

        // Parse everything first, so a malformed file fails before any work.
        var names: [String] = []
        var questions: [(section: Int, words: [String])] = []
        for line in file.lines {
            if line.text.hasPrefix(":") {
                names.append(line.text.dropFirst().trimmingCharacters(in: .whitespaces))
                continue
            }
            guard !names.isEmpty else {
                throw file.malformed(line, "a section line ': name' before the first question")
            }
            let fields = line.text.split(whereSeparator: \.isWhitespace)
            guard fields.count == 4 else { throw file.malformed(line, "four words 'a b c d' or a section ': name'") }
            questions.append((names.count - 1, fields.map { EvaluationFile.fold(String($0), caseInsensitive: caseInsensitive) }))
        }
        guard !questions.isEmpty else {
            throw LoomError.invalidData("\(file.path) holds no analogy questions: expected ': section' lines "
                                            + "followed by lines of four words 'a b c d'")
        }

        let (vocabulary, canonical) = evaluationVocabulary(rows: rows, caseInsensitive: caseInsensitive)
        var sections = names.map { AnalogyReport.Section(name: $0, correct: 0, evaluated: 0, total: 0) }
        var queries: [AnalogyQuery] = []
        var expected: [(section: Int, answer: Int)] = []
        for q in questions {
            sections[q.section].total += 1
            let ids = q.words.compactMap { vocabulary[$0] }
            guard ids.count == 4 else { continue }
            queries.append(AnalogyQuery(a: ids[0], b: ids[1], c: ids[2]))
            expected.append((q.section, ids[3]))
        }
        // gensim asks for the top 5 (a, b, c removed) and takes the first whose spelling is not
        // one of a, b, c — or, failing that, the last.
        let answers = solve(queries, method: method, rows: rows, k: 5)
        for (n, candidates) in answers.enumerated() {
            let q = queries[n]
            let ignored = [q.a, q.b, q.c]
            let predicted = candidates.first(where: { !ignored.contains(canonical[$0.index]) }) ?? candidates.last
            sections[expected[n].section].evaluated += 1
            if let predicted, canonical[predicted.index] == expected[n].answer {
                sections[expected[n].section].correct += 1
            }
        }
        return AnalogyReport(sections: sections, method: method, restrictVocab: rows)
    }
}
