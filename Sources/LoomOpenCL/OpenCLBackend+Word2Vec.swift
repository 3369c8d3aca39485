import LoomCore
import LoomKernels

extension OpenCLBackend {
    /// One launch for the whole pass (`Kernels/word2vec.cl`): `workers` work-groups (default: 8
    /// per compute unit, at most one per sentence) walk the sentences, each group one sentence at
    /// a time.
    public func word2vecPass(_ pass: Word2VecPass, tables t: Word2VecTables, input: Tensor, output: Tensor,
                             stats: Tensor) throws {
        let op = "word2vecPass"
        let tensors = [input, output, stats] + t.allTensors
        try Check.owned(op, by: self, tensors)
        // Corpus and alias ids were checked on the host when the tables were made; the kernel
        // skips and flags a bad one all the same.
        let d = try Check.word2vecPass(op, pass, tables: t, input: input, output: output, stats: stats)
        try Check.fitsInt32(op, tensors)
        guard pass.sentenceCount > 0 else { return }
        let name = "w2v_pass"
        let group = powerOfTwoGroup(try kernel(.word2vec, name), cap: 64)
        let groups = min(pass.workers == 0 ? 8 * max(1, info.computeUnits) : pass.workers, pass.sentenceCount)
        let local = 4 * (pass.sentenceLength + 2 * pass.window * (pass.negatives + 1) + d + group) + 1024
        guard UInt64(local) <= info.localMemoryBytes else {
            throw LoomError.invalidArgument("\(op): sentences of \(pass.sentenceLength) words at dimension \(d) need \(local) bytes "
                                            + "of local memory; the device has \(info.localMemoryBytes)")
        }
        try launch(.word2vec, name, global: groups * group, local: group,
                   [.tensor(t.corpus), .int(t.corpus.count), .int(pass.corpusFirstSentence), .tensor(t.keep), .tensor(t.aliasProbability),
                    .tensor(t.aliasIndex), .int(t.vocabulary), .tensor(t.sigmoid), .tensor(input), .tensor(output), .int(d),
                    .int(pass.cbow ? 1 : 0), .int(pass.cbowMean ? 1 : 0), .int(pass.window), .int(pass.negatives),
                    .int(pass.sentenceLength), .int(pass.firstSentence), .int(pass.sentenceCount),
                    .float(pass.learningRate), .float(pass.finalLearningRate), .ulong(pass.seed), .ulong(pass.stream),
                    .tensor(stats), .errorWord, .local(4 * pass.sentenceLength), .local(4 * 2 * pass.window * (pass.negatives + 1)),
                    .local(4 * d), .local(4 * group)])
    }
}
