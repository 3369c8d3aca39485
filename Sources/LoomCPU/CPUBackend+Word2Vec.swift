import LoomCore
import _LoomCPUKernels

extension CPUBackend {
    /// Each worker takes a contiguous run of the pass's sentences (its own corpus shard) and trains
    /// it with `loom_w2v_sentences`, writing into the shared tables without locks (Hogwild, as
    /// word2vec.c and gensim). One worker is deterministic.
    public func word2vecPass(_ pass: Word2VecPass, tables t: Word2VecTables, input: Tensor, output: Tensor,
                             stats: Tensor) throws {
        let op = "word2vecPass"
        try Check.owned(op, by: self, [input, output, stats] + t.allTensors)
        // Corpus and alias ids were checked on the host when the tables were made.
        let d = try Check.word2vecPass(op, pass, tables: t, input: input, output: output, stats: stats)
        guard pass.sentenceCount > 0 else { return }
        var p = loom_w2v_pass()
        p.corpus = UnsafePointer(i32(t.corpus))
        p.corpus_length = t.corpus.count
        p.corpus_first = pass.corpusFirstSentence
        p.keep = UnsafePointer(f(t.keep))
        p.alias_probability = UnsafePointer(f(t.aliasProbability))
        p.alias_index = UnsafePointer(i32(t.aliasIndex))
        p.vocabulary = t.vocabulary
        p.sigmoid_table = UnsafePointer(f(t.sigmoid))
        p.input = f(input)
        p.output = f(output)
        p.dimension = d
        p.cbow = pass.cbow ? 1 : 0
        p.cbow_mean = pass.cbowMean ? 1 : 0
        p.window = Int32(pass.window)
        p.negatives = Int32(pass.negatives)
        p.sentence_length = Int32(pass.sentenceLength)
        p.seed = pass.seed
        p.stream = pass.stream
        p.learning_rate = pass.learningRate
        p.final_learning_rate = pass.finalLearningRate
        p.pass_first = pass.firstSentence
        p.pass_count = pass.sentenceCount
        let workers = min(pass.workers == 0 ? threads : pass.workers, pass.sentenceCount)
        let parts = UnsafeMutablePointer<Double>.allocate(capacity: 2 * workers)
        defer { parts.deallocate() }
        parts.initialize(repeating: 0, count: 2 * workers)
        let count = pass.sentenceCount, first = pass.firstSentence
        withUnsafePointer(to: &p) { pp in
            let body = { (w: Int) in
                let lo = count * w / workers, hi = count * (w + 1) / workers
                loom_w2v_sentences(pp, first + lo, hi - lo, parts + 2 * w)
            }
            if workers == 1 { body(0) } else { team.run(workers, body) }
        }
        var loss = 0.0, pairs = 0.0
        for w in 0..<workers { loss += parts[2 * w]; pairs += parts[2 * w + 1] }
        let s = f(stats)
        s[0] += Float(loss)
        s[1] += Float(pairs)
    }
}
