import Foundation
import LoomCore
import LoomData

/// Everything that defines a word2vec run. Saved in checkpoints so `--resume` continues the same run.
public struct Word2VecConfig: Codable, Equatable, Sendable {
    public enum Model: String, Codable, Sendable, CaseIterable {
        /// Predict each context word from the centre word.
        case skipgram
        /// Predict the centre word from the mean (or sum) of its context words.
        case cbow
    }

    public enum Loss: String, Codable, Sendable, CaseIterable {
        /// TensorFlow's sampled softmax: `numSampled` log-uniform candidates shared by the batch.
        case sampled
        /// word2vec's negative sampling: `numSampled` unigram^0.75 negatives per pair.
        case negative
        /// The exact softmax over the whole vocabulary (small vocabularies; checks the estimates).
        case softmax
    }

    public enum Optimizer: String, Codable, Sendable, CaseIterable {
        /// Sparse Adagrad (the course: learning rate 1.0, accumulators start at 0.1).
        case adagrad
        /// Plain SGD with word2vec's linear decay of the learning rate to 0.01% of its start.
        case sgd
    }

    /// How (input, label) examples are cut from the text.
    public enum Batching: Codable, Equatable, Sendable {
        /// The course's `generate_batch`: each centre word yields `numSkips` pairs with distinct
        /// random contexts from a fixed window of `skipWindow` each side; the cursor wraps around.
        case course(skipWindow: Int, numSkips: Int)
        /// word2vec's: for each (subsampled) centre, a window shrunk by a random amount in
        /// `0..<window`, every context in it, sentences of 1000 words.
        case dynamic(window: Int)

        public var maxContext: Int {
            switch self {
            case let .course(w, _): return 2 * w
            case let .dynamic(w): return 2 * w
            }
        }
    }

    public var model: Model = .skipgram
    public var loss: Loss = .sampled
    public var batching: Batching = .course(skipWindow: 1, numSkips: 2)
    public var dimension = 128
    /// Examples per step: (input, label) pairs for skip-gram, centre words for CBOW.
    public var batchSize = 128
    /// Sampled classes per batch (`sampled`) or negatives per pair (`negative`).
    public var numSampled = 64
    /// Subsampling threshold `t` of frequent words (0: off).
    public var sample: Double = 0
    /// CBOW: average the context vectors (true) or add them.
    public var cbowMean = true
    public var optimizer: Optimizer = .adagrad
    public var learningRate: Float = 1.0
    /// Passes over the corpus (used when `steps` is nil).
    public var epochs = 1
    /// Stop after this many steps instead of after `epochs`.
    public var steps: Int?
    public var seed: UInt64 = 1

    public init() {}

    /// The course's defaults for `loss`, and word2vec's defaults for negative sampling.
    public static func defaults(model: Model, loss: Loss, window: Int?) -> Word2VecConfig {
        var c = Word2VecConfig()
        c.model = model
        c.loss = loss
        if let window {
            c.batching = .dynamic(window: window)
            c.sample = 1e-3
            // Skip-gram's examples are (context, centre) pairs, about 5 per centre at window 5:
            // 512 pairs is some 90 centres a step, near CBOW's 128. Fewer pairs make the step too
            // short to split well over the cores (Benchmarks/RESULTS.md, "Design measurements").
            if model == .skipgram { c.batchSize = 512 }
        }
        if loss == .negative {
            c.optimizer = .sgd
            c.learningRate = model == .skipgram ? 0.025 : 0.05
            c.numSampled = 5
        }
        return c
    }

    /// Negative sampling with word2vec's windows and SGD trains through `Backend.word2vecPass`:
    /// whole sentences, one fused step per centre word, no batches (`batchSize` is not used).
    public var usesFusedPass: Bool {
        if case .dynamic = batching { return loss == .negative && optimizer == .sgd }
        return false
    }

    /// Throws a clear error for settings that cannot work with `vocabularySize` words.
    public func validate(vocabularySize: Int, corpusWords: Int) throws {
        func bad(_ message: String) -> LoomError { .invalidArgument(message) }
        if dimension < 1 { throw bad("--dim must be at least 1") }
        if batchSize < 1 { throw bad("--batch-size must be at least 1") }
        if learningRate <= 0 || !learningRate.isFinite { throw bad("--lr must be positive") }
        if epochs < 1 { throw bad("--epochs must be at least 1") }
        if let steps, steps < 1 { throw bad("--steps must be at least 1") }
        if sample < 0 { throw bad("--sample must not be negative") }
        switch batching {
        case let .course(skipWindow, numSkips):
            if skipWindow < 1 { throw bad("--skip-window must be at least 1") }
            if sample > 0 {
                throw bad("--sample needs word2vec's batching (--window N): the course's batching reads every word")
            }
            if numSkips < 1 || numSkips > 2 * skipWindow {
                throw bad("--num-skips must be between 1 and 2 × --skip-window (\(2 * skipWindow))")
            }
            if model == .skipgram && batchSize % numSkips != 0 {
                throw bad("--batch-size (\(batchSize)) must be a multiple of --num-skips (\(numSkips))")
            }
            if corpusWords < 2 * skipWindow + 1 {
                throw bad("the corpus has \(corpusWords) words, fewer than one window of \(2 * skipWindow + 1)")
            }
        case let .dynamic(window):
            if window < 1 { throw bad("--window must be at least 1") }
            if usesFusedPass && window > Word2VecPass.maxWindow { throw bad("--window must be at most \(Word2VecPass.maxWindow)") }
            if corpusWords < 2 { throw bad("the corpus has \(corpusWords) word; it needs at least 2") }
        }
        switch loss {
        case .sampled:
            if numSampled < 1 { throw bad("--num-sampled must be at least 1") }
            if numSampled >= vocabularySize {
                throw bad("--num-sampled (\(numSampled)) must be smaller than the vocabulary (\(vocabularySize) words): "
                    + "sampled softmax draws that many distinct classes; lower --num-sampled or use --loss softmax")
            }
        case .negative:
            if numSampled < 1 { throw bad("--num-sampled must be at least 1 negative per pair") }
            if usesFusedPass && numSampled > Word2VecPass.maxNegatives {
                throw bad("--num-sampled must be at most \(Word2VecPass.maxNegatives) negatives per window")
            }
            if vocabularySize < 2 { throw bad("negative sampling needs at least 2 words in the vocabulary") }
        case .softmax:
            break
        }
    }
}
