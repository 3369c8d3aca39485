import Foundation
import LoomCore

/// The result of `WordVectors.evaluateSimilarity`: how well cosine similarities of word pairs
/// follow human judgements.
public struct SimilarityReport: Equatable, Sendable, CustomStringConvertible {
    /// Spearman's rank correlation (ties get their average rank), NaN when either side is constant.
    public var spearman: Double
    /// Pearson's correlation, NaN when either side is constant.
    public var pearson: Double
    /// Pairs with both words in the vocabulary: those correlated.
    public var pairs: Int
    /// Pairs skipped because a word is out of vocabulary.
    public var skipped: Int

    public init(spearman: Double, pearson: Double, pairs: Int, skipped: Int) {
        self.spearman = spearman; self.pearson = pearson; self.pairs = pairs; self.skipped = skipped
    }

    /// Pairs in the file.
    public var total: Int { pairs + skipped }
    /// `skipped / total`.
    public var outOfVocabularyRatio: Double { total == 0 ? 0 : Double(skipped) / Double(total) }

    /// `spearman 0.6612, pearson 0.6523 (300 pairs, 53 out of vocabulary: 15.0%)`.
    public var summaryLine: String {
        String(format: "spearman %.4f, pearson %.4f (%d pairs, %d out of vocabulary: %.1f%%)",
               spearman, pearson, pairs, skipped, 100 * outOfVocabularyRatio)
    }

    public var description: String { summaryLine }
}

extension WordVectors {
    /// Correlation between human similarity scores and cosine similarities, on a word-pair file
    /// such as WordSim-353 or SimLex-999, as gensim's `KeyedVectors.evaluate_word_pairs`.
    ///
    /// Lines starting with `#` are comments and blank lines are skipped; the others hold
    /// `word1 word2 score`, separated by tabs (or, in a line without tabs, by whitespace). A pair
    /// is skipped (and counted) when a word is not among the first `restrictVocab` words;
    /// case-insensitive matching compares upper-cased spellings, the most frequent word winning.
    ///
    /// - Throws: `LoomError.io` for a missing file; `LoomError.invalidData` for an empty file, one
    ///   without pairs, or a malformed line (naming it); `LoomError.invalidArgument` when no pair
    ///   has both words in the vocabulary.
    public func evaluateSimilarity(file url: URL, caseInsensitive: Bool = true,
                                   restrictVocab: Int = 300_000) throws -> SimilarityReport {
        let rows = try candidateRows(restrictVocab)
        let file = try EvaluationFile(url, what: "word pairs with similarity scores")
        var pairs: [(String, String, Double)] = []
        for line in file.lines where !line.text.hasPrefix("#") {
            var fields: [String]
            if line.text.contains("\t") {
                fields = line.text.split(separator: "\t", omittingEmptySubsequences: false)
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                while fields.last?.isEmpty == true { fields.removeLast() }
            } else {
                fields = line.text.split(whereSeparator: \.isWhitespace).map(String.init)
            }
            guard fields.count == 3, !fields[0].isEmpty, !fields[1].isEmpty,
                  let score = Double(fields[2]), score.isFinite else {
                throw file.malformed(line, "'word1<TAB>word2<TAB>score'")
            }
            pairs.append((EvaluationFile.fold(fields[0], caseInsensitive: caseInsensitive),
                          EvaluationFile.fold(fields[1], caseInsensitive: caseInsensitive), score))
        }
        guard !pairs.isEmpty else {
            throw LoomError.invalidData("\(file.path) holds no word pairs: expected lines 'word1<TAB>word2<TAB>score'")
        }
        let (vocabulary, _) = evaluationVocabulary(rows: rows, caseInsensitive: caseInsensitive)
        var gold: [Double] = []
        var model: [Double] = []
        for (a, b, score) in pairs {
            guard let i = vocabulary[a], let j = vocabulary[b] else { continue }
            gold.append(score)
            model.append(Double(cosine(i, j)))
        }
        guard !gold.isEmpty else {
            throw LoomError.invalidArgument("none of the \(pairs.count) pairs in \(file.path) has both words among "
                                                + "the first \(rows) words of these vectors")
        }
        return SimilarityReport(spearman: Correlation.spearman(gold, model), pearson: Correlation.pearson(gold, model),
                                pairs: gold.count, skipped: pairs.count - gold.count)
    }
}

/// Correlation coefficients, as SciPy's `pearsonr` and `spearmanr` compute them.
enum Correlation {
    /// Pearson's r; NaN when fewer than two values or either side is constant.
    static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let n = Double(x.count)
        guard x.count == y.count, x.count >= 2 else { return .nan }
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) {
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
            syy += (b - my) * (b - my)
        }
        guard sxx > 0, syy > 0 else { return .nan }
        return max(-1, min(1, sxy / (sxx.squareRoot() * syy.squareRoot())))
    }

    /// Spearman's ρ: Pearson's r of the ranks, tied values sharing their average rank.
    static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        pearson(ranks(x), ranks(y))
    }

    /// Ranks from 1; a run of equal values gets the mean of the ranks it spans.
    static func ranks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var out = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for t in i...j { out[order[t]] = rank }
            i = j + 1
        }
        return out
    }
}
