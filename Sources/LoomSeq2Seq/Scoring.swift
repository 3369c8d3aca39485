import Foundation

/// Scores of outputs against references, computed as the standard tools compute them:
/// chrF and BLEU as sacrebleu 2.x does by default (checked against the `sacrebleu` package in
/// the test suite), exact match, and error rates from edit distances.
public enum Scoring {
    // MARK: chrF

    /// sacrebleu's `CHRF()` defaults: character n-grams of orders 1–6 with whitespace removed,
    /// β = 2, statistics summed over the corpus (per sentence, the reference with the best
    /// F-score), precision and recall averaged over the orders that occur.
    public static func chrF(_ hypotheses: [String], _ references: [[String]], order: Int = 6, beta: Double = 2) -> Double {
        var total = [Int](repeating: 0, count: 3 * order)
        for (h, refs) in zip(hypotheses, references) {
            let hg = charNgrams(h, order)
            var best: [Int] = [], bestF = -1.0
            for r in refs {
                let rg = charNgrams(r, order)
                var stats: [Int] = []
                for n in 0..<order {
                    let hyp = hg[n].values.reduce(0, +), ref = rg[n].values.reduce(0, +)
                    var match = 0
                    for (g, c) in hg[n] { if let d = rg[n][g] { match += min(c, d) } }
                    stats += [hyp, ref, match]
                }
                let f = chrFScore(stats, order: order, beta: beta)
                if f > bestF { bestF = f; best = stats }
            }
            if !best.isEmpty { for i in total.indices { total[i] += best[i] } }
        }
        return chrFScore(total, order: order, beta: beta)
    }

    static func charNgrams(_ s: String, _ order: Int) -> [[String: Int]] {
        let chars = Array(s.split(whereSeparator: { $0.isWhitespace }).joined())
        return (1...order).map { n in
            var counts: [String: Int] = [:]
            if chars.count >= n { for i in 0...(chars.count - n) { counts[String(chars[i..<(i + n)]), default: 0] += 1 } }
            return counts
        }
    }

    static func chrFScore(_ stats: [Int], order: Int, beta: Double) -> Double {
        var precision = 0.0, recall = 0.0, effective = 0
        for i in 0..<order {
            let (hyp, ref, match) = (stats[3 * i], stats[3 * i + 1], stats[3 * i + 2])
            if hyp > 0 && ref > 0 {
                precision += Double(match) / Double(hyp)
                recall += Double(match) / Double(ref)
                effective += 1
            }
        }
        guard effective > 0 else { return 0 }
        precision /= Double(effective)
        recall /= Double(effective)
        guard precision + recall > 0 else { return 0 }
        let f = beta * beta
        return 100 * (1 + f) * precision * recall / (f * precision + recall)
    }

    // MARK: BLEU

    /// sacrebleu's `BLEU()` defaults: the 13a tokenizer, n-grams up to 4, clipped counts against
    /// the maximum over references, the closest reference length (shorter on ties), and the
    /// `exp` smoothing of zero counts.
    public static func bleu(_ hypotheses: [String], _ references: [[String]]) -> Double {
        var correct = [Int](repeating: 0, count: 4), total = [Int](repeating: 0, count: 4)
        var hypLength = 0, refLength = 0
        for (h, refs) in zip(hypotheses, references) {
            let ht = tokenize13a(h)
            let rts = refs.map(tokenize13a)
            hypLength += ht.count
            refLength += rts.map(\.count).min { abs($0 - ht.count) != abs($1 - ht.count) ? abs($0 - ht.count) < abs($1 - ht.count) : $0 < $1 } ?? 0
            for n in 1...4 {
                let hg = wordNgrams(ht, n)
                var maxRef: [String: Int] = [:]
                for rt in rts { for (g, c) in wordNgrams(rt, n) { maxRef[g] = max(maxRef[g] ?? 0, c) } }
                for (g, c) in hg { correct[n - 1] += min(c, maxRef[g] ?? 0) }
                total[n - 1] += max(0, ht.count - n + 1)
            }
        }
        var precisions = [Double](repeating: 0, count: 4)
        var smooth = 1.0
        for n in 0..<4 {
            if total[n] == 0 { break }
            if correct[n] == 0 {
                smooth *= 2
                precisions[n] = 100 / (smooth * Double(total[n]))
            } else {
                precisions[n] = 100 * Double(correct[n]) / Double(total[n])
            }
        }
        let bp = hypLength < refLength ? (hypLength > 0 ? exp(1 - Double(refLength) / Double(hypLength)) : 0) : 1
        let logSum = precisions.reduce(0.0) { $0 + ($1 == 0 ? -9_999_999_999 : log($1)) }
        return bp * exp(logSum / 4)
    }

    static func wordNgrams(_ tokens: [String], _ n: Int) -> [String: Int] {
        var counts: [String: Int] = [:]
        if tokens.count >= n { for i in 0...(tokens.count - n) { counts[tokens[i..<(i + n)].joined(separator: " "), default: 0] += 1 } }
        return counts
    }

    private static let rules: [(NSRegularExpression, String)] = [
        (#"([\{-\~\[-\` -\&\(-\+\:-\@\/])"#, " $1 "),
        (#"([^0-9])([\.,])"#, "$1 $2 "),
        (#"([\.,])([^0-9])"#, " $1 $2"),
        (#"([0-9])(-)"#, "$1 $2 "),
    ].map { (try! NSRegularExpression(pattern: $0.0), $0.1) }

    /// mteval-v13a tokenisation, as sacrebleu's `Tokenizer13a`.
    public static func tokenize13a(_ line: String) -> [String] {
        var s = line.replacingOccurrences(of: "<skipped>", with: "").replacingOccurrences(of: "-\n", with: "")
            .replacingOccurrences(of: "\n", with: " ")
        if s.contains("&") {
            s = s.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
                .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
        }
        s = " \(s) "
        for (re, template) in rules {
            s = re.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: template)
        }
        return s.split(whereSeparator: { $0.isWhitespace }).map(String.init)
    }

    // MARK: Exact match and error rates

    /// Levenshtein distance between two sequences.
    public static func editDistance<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count), current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// Corpus-level results of outputs against references.
    public struct Report: Sendable {
        public var count: Int
        /// Outputs equal to one of their references.
        public var exact: Int
        public var exactMatch: Double { count > 0 ? Double(exact) / Double(count) : 0 }
        /// 1 − character edit distance / reference characters (to the closest reference).
        public var characterAccuracy: Double
        /// Word error rate of G2P: the fraction of outputs that match no reference.
        public var wordErrorRate: Double { 1 - exactMatch }
        /// Symbol edit distance / reference symbols (to the closest reference): G2P's phoneme error rate.
        public var symbolErrorRate: Double
        public var chrF: Double
        public var bleu: Double
    }

    /// Every score of `outputs` against `references` (symbols split at spaces for the error rate).
    public static func report(_ outputs: [String], _ references: [[String]]) -> Report {
        var exact = 0, charErrors = 0, charTotal = 0, symErrors = 0, symTotal = 0
        for (o, refs) in zip(outputs, references) {
            if refs.contains(o) { exact += 1 }
            let oc = Array(o), os = o.split(separator: " ").map(String.init)
            var bestC = (Int.max, 1), bestS = (Int.max, 1)
            for r in refs {
                let rc = Array(r), rs = r.split(separator: " ").map(String.init)
                let dc = editDistance(oc, rc), ds = editDistance(os, rs)
                if dc < bestC.0 { bestC = (dc, rc.count) }
                if ds < bestS.0 { bestS = (ds, rs.count) }
            }
            charErrors += bestC.0; charTotal += bestC.1
            symErrors += bestS.0; symTotal += bestS.1
        }
        return Report(count: outputs.count, exact: exact,
                      characterAccuracy: max(0, 1 - Double(charErrors) / Double(max(charTotal, 1))),
                      symbolErrorRate: Double(symErrors) / Double(max(symTotal, 1)),
                      chrF: chrF(outputs, references), bleu: bleu(outputs, references))
    }
}
