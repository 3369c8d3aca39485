import Foundation
import LoomCore

/// Everything that defines a character-LSTM run; saved in checkpoints.
public struct CharLSTMConfig: Codable, Equatable, Sendable {
    public enum Optimizer: String, Codable, Sendable, CaseIterable {
        /// SGD with the course's staircase exponential decay.
        case sgd
        /// Adam (β₁ 0.9, β₂ 0.999, ε 1e-8).
        case adam
    }

    public enum Initialization: String, Codable, Sendable, CaseIterable {
        /// The course's `tf.truncated_normal(shape, -0.1, 0.1)`: mean −0.1, standard deviation 0.1.
        case course
        /// Glorot/Xavier uniform, better for wide or deep models.
        case glorot
    }

    public var alphabet: Alphabet.Kind = .text8
    /// Word models: the vocabulary size, `UNK` included.
    public var maxVocabulary = 10_000
    /// Train the output layer with sampled softmax over this many log-uniform samples per step
    /// (0: the full softmax). For large vocabularies; evaluation always uses the full softmax.
    public var sampled = 0
    /// Each step's input is the pair of the previous two characters (an embedding over V² ids).
    public var bigram = false
    /// Width of the input embedding; 0 for one-hot inputs (the course). Bigrams need an embedding.
    public var embedding = 0
    public var layers = 1
    public var hidden = 64
    public var batchSize = 64
    public var unrollings = 10
    public var steps = 7001
    public var optimizer: Optimizer = .sgd
    public var learningRate: Float = 10
    /// SGD: the rate is multiplied by `decay` every `decayEvery` steps (staircase).
    public var decay: Float = 0.1
    public var decayEvery = 5000
    /// Clip the global norm of all gradients to this (0: no clipping).
    public var clip: Float = 1.25
    /// Probability of dropping a unit on the inputs and outputs of each LSTM layer while training.
    public var dropout: Float = 0
    /// L2 weight decay on the weight matrices (not the biases).
    public var l2: Float = 0
    /// Characters at the start of the text held out for validation (the course: 1000).
    public var validSize = 1000
    public var initialization: Initialization = .course
    public var seed: UInt64 = 1

    public init() {}

    /// Ids of one input step: the alphabet, or its square for bigrams.
    public func inputVocabulary(_ alphabetSize: Int) -> Int { bigram ? alphabetSize * alphabetSize : alphabetSize }

    /// The learning rate at `step` (0-based).
    public func learningRate(at step: Int) -> Float {
        guard optimizer == .sgd, decayEvery > 0 else { return learningRate }
        return learningRate * pow(decay, Float(step / decayEvery))
    }

    /// Throws a clear error for a model shape that cannot be built: what a model made from a
    /// checkpoint's configuration is checked against too (a damaged one must not trap).
    public func validateModel(alphabetSize: Int) throws {
        func bad(_ m: String) -> LoomError { .invalidArgument(m) }
        if alphabetSize < 1 || alphabetSize > 1 << 24 { throw bad("an alphabet of \(alphabetSize) symbols cannot be modelled") }
        if layers < 1 || layers > 64 { throw bad("--layers must be from 1 to 64") }
        if hidden < 1 || hidden > 1 << 16 { throw bad("--hidden must be from 1 to 65536") }
        if embedding < 0 || embedding > 1 << 16 { throw bad("--embedding must be from 0 to 65536") }
        if bigram && embedding == 0 { throw bad("--bigram needs an input embedding (--embedding N)") }
        if bigram && alphabetSize > 1 << 11 {
            throw bad("--bigram over \(alphabetSize) symbols means \(alphabetSize * alphabetSize) input ids; use a smaller alphabet")
        }
        if sampled < 0 { throw bad("--sampled must not be negative") }
        if sampled > 0 && sampled >= alphabetSize {
            throw bad("--sampled (\(sampled)) must be smaller than the vocabulary (\(alphabetSize) symbols)")
        }
        if !(dropout >= 0 && dropout < 1) { throw bad("--dropout must be in [0, 1)") }
    }

    /// Throws a clear error for settings that cannot work on a training text of `trainLength` symbols.
    public func validate(alphabetSize: Int, trainLength: Int) throws {
        func bad(_ m: String) -> LoomError { .invalidArgument(m) }
        try validateModel(alphabetSize: alphabetSize)
        if batchSize < 1 { throw bad("--batch-size must be at least 1") }
        if unrollings < 1 { throw bad("--unrollings must be at least 1") }
        if steps < 0 { throw bad("--steps must not be negative") }
        if l2 < 0 { throw bad("--l2 must not be negative") }
        if clip < 0 { throw bad("--clip must not be negative") }
        if !(learningRate > 0) { throw bad("--lr must be positive") }
        if decayEvery < 0 { throw bad("--decay-every must not be negative") }
        if validSize < 0 { throw bad("--valid-size must not be negative") }
        let (needed, overflow) = batchSize.multipliedReportingOverflow(by: unrollings + 2)
        if overflow || trainLength < needed {
            throw bad("the training text has \(trainLength) characters (after the \(validSize) held out for validation); "
                + "one segment of \(batchSize) cursors × \(unrollings + 1) characters needs at least \(needed)")
        }
    }
}
