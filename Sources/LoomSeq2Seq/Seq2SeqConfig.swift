import Foundation
import LoomCore
import LoomLayers

/// Everything that defines a sequence-to-sequence run; saved in checkpoints.
public struct Seq2SeqConfig: Codable, Equatable, Sendable {
    public enum Optimizer: String, Codable, Sendable, CaseIterable { case sgd, adam }
    public enum AttentionKind: String, Codable, Sendable, CaseIterable { case none, dot, general }

    public var sourceUnits: SequenceUnits = .char
    public var targetUnits: SequenceUnits = .char
    /// Symbols kept per side (the three specials included); rarer ones become `<unk>`.
    public var maxVocabulary = 30_000
    /// Byte-pair merges learned per side for `.bpe` units.
    public var merges = 2_000
    public var layers = 1
    public var hidden = 256
    public var embedding = 64
    public var attention: AttentionKind = .general
    /// A second encoder reads each source backwards; its outputs (realigned) and final state
    /// are added to the forward encoder's (the attention keys know what follows each symbol).
    public var bidirectional = false
    public var batchSize = 64
    public var steps = 10_000
    public var optimizer: Optimizer = .adam
    public var learningRate: Float = 0.001
    /// The rate is multiplied by `decay` every `decayEvery` steps (staircase; `decayEvery` 0: never).
    public var decay: Float = 0.5
    public var decayEvery = 0
    /// Clip the global norm of all gradients to this (0: no clipping).
    public var clip: Float = 5
    /// Dropout on the embeddings and on each LSTM layer's output while training.
    public var dropout: Float = 0
    public var l2: Float = 0
    /// While training, each source symbol and each symbol fed to the decoder becomes `<unk>`
    /// with this probability.
    public var wordDropout: Float = 0
    /// Longest source or target, in tokens; longer pairs are refused.
    public var maxLength = 100
    public var seed: UInt64 = 1

    public init() {}

    enum CodingKeys: String, CodingKey {
        case sourceUnits, targetUnits, maxVocabulary, layers, hidden, embedding, attention, bidirectional, batchSize, steps
        case optimizer, learningRate, decay, decayEvery, clip, dropout, l2, maxLength, seed, merges, wordDropout
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sourceUnits = try c.decode(SequenceUnits.self, forKey: .sourceUnits)
        targetUnits = try c.decode(SequenceUnits.self, forKey: .targetUnits)
        maxVocabulary = try c.decode(Int.self, forKey: .maxVocabulary)
        layers = try c.decode(Int.self, forKey: .layers)
        hidden = try c.decode(Int.self, forKey: .hidden)
        embedding = try c.decode(Int.self, forKey: .embedding)
        attention = try c.decode(AttentionKind.self, forKey: .attention)
        bidirectional = try c.decodeIfPresent(Bool.self, forKey: .bidirectional) ?? false
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        steps = try c.decode(Int.self, forKey: .steps)
        optimizer = try c.decode(Optimizer.self, forKey: .optimizer)
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        decay = try c.decodeIfPresent(Float.self, forKey: .decay) ?? 0.5
        decayEvery = try c.decodeIfPresent(Int.self, forKey: .decayEvery) ?? 0
        clip = try c.decode(Float.self, forKey: .clip)
        dropout = try c.decode(Float.self, forKey: .dropout)
        l2 = try c.decode(Float.self, forKey: .l2)
        maxLength = try c.decode(Int.self, forKey: .maxLength)
        seed = try c.decode(UInt64.self, forKey: .seed)
        merges = try c.decodeIfPresent(Int.self, forKey: .merges) ?? 2_000
        wordDropout = try c.decodeIfPresent(Float.self, forKey: .wordDropout) ?? 0
    }

    /// Throws a clear error for settings that cannot work.
    public func validate() throws {
        func bad(_ m: String) -> LoomError { .invalidArgument(m) }
        // Upper bounds too: a model built from a damaged checkpoint's configuration is checked here.
        if layers < 1 || layers > 64 { throw bad("--layers must be from 1 to 64") }
        if hidden < 1 || hidden > 1 << 16 { throw bad("--hidden must be from 1 to 65536") }
        if embedding < 1 || embedding > 1 << 16 { throw bad("--embedding must be from 1 to 65536") }
        if batchSize < 1 || batchSize > 1 << 20 { throw bad("--batch-size must be from 1 to 1048576") }
        if steps < 0 { throw bad("--steps must not be negative") }
        if maxVocabulary < 4 { throw bad("--max-vocab must be at least 4 (three special symbols and one more)") }
        if maxLength < 1 || maxLength > 1 << 16 { throw bad("--max-length must be from 1 to 65536") }
        if !(dropout >= 0 && dropout < 1) { throw bad("--dropout must be in [0, 1)") }
        if !(wordDropout >= 0 && wordDropout < 1) { throw bad("--word-dropout must be in [0, 1)") }
        if merges < 0 { throw bad("--merges must not be negative") }
        if l2 < 0 { throw bad("--l2 must not be negative") }
        if clip < 0 { throw bad("--clip must not be negative") }
        if !(learningRate > 0) { throw bad("--lr must be positive") }
        if !(decay > 0 && decay <= 1) { throw bad("--decay must be in (0, 1]") }
        if decayEvery < 0 { throw bad("--decay-every must not be negative") }
    }

    /// The learning rate at `step` (0-based).
    public func learningRate(at step: Int) -> Float {
        decayEvery > 0 ? learningRate * pow(decay, Float(step / decayEvery)) : learningRate
    }

    /// The update rule at `step` (0-based).
    public func rule(at step: Int) -> UpdateRule {
        let lr = learningRate(at: step)
        switch optimizer {
        case .sgd: return .sgd(learningRate: lr)
        case .adam: return .adam(learningRate: lr, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: step + 1)
        }
    }
}
