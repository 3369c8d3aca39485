import ArgumentParser
import Foundation
import Loom

extension Alphabet.Kind: ExpressibleByArgument {}
extension CharLSTMConfig.Optimizer: ExpressibleByArgument {}
extension CharLSTMConfig.Initialization: ExpressibleByArgument {}
extension ValidationProtocol: ExpressibleByArgument {}

struct LSTMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lstm", abstract: "Character-level LSTM language models: train, then generate text.",
        subcommands: [LSTMTrain.self, LSTMGenerate.self])
}

struct LSTMTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a character LSTM language model on a text.",
        discussion: """
        Defaults are the course's (TensorFlow's 6_lstm): the text8 alphabet, one-hot inputs, 1 layer of \
        64 nodes, batch 64, 10 unrollings, 7001 steps of SGD at 10.0 ×0.1 every 5000 steps, gradients \
        clipped to a global norm of 1.25; the first 1000 characters are the validation slice.
        """)

    @Option(help: "The training text.")
    var text: String
    @Option(help: "Symbols: text8 (27: space and a-z), bytes (256), auto (the text's own characters) or words (a word-level model).")
    var alphabet: Alphabet.Kind = .text8
    @Option(help: "Word models: vocabulary size, UNK included.")
    var maxVocab = 10_000
    @Option(help: "Train the output layer with sampled softmax over this many samples per step (0: full softmax).")
    var sampled = 0
    @Flag(help: "Feed each step the pair of the previous two characters (needs --embedding).")
    var bigram = false
    @Option(help: "Input embedding width; 0 for one-hot inputs.")
    var embedding = 0
    @Option(help: "Stacked LSTM layers.")
    var layers = 1
    @Option(help: "LSTM units per layer.")
    var hidden = 64
    @Option(help: "Cursors over the text (sequences per step).")
    var batchSize = 64
    @Option(help: "Characters per segment (steps of backpropagation through time).")
    var unrollings = 10
    @Option(help: "Training steps.")
    var steps = 7001
    @Option(help: "sgd (with staircase decay) or adam.")
    var optimizer: CharLSTMConfig.Optimizer = .sgd
    @Option(help: "Learning rate (default 10 for sgd, 0.002 for adam).")
    var lr: Float?
    @Option(help: "SGD: multiply the rate by this every --decay-every steps.")
    var decay: Float = 0.1
    @Option(help: "SGD: steps between decays (0: never).")
    var decayEvery = 5000
    @Option(help: "Clip the global norm of the gradients to this (0: off).")
    var clip: Float = 1.25
    @Option(help: "Dropout probability on the inputs and outputs of each LSTM layer (off at evaluation).")
    var dropout: Float = 0
    @Option(help: "L2 weight decay on the weight matrices.")
    var l2: Float = 0
    @Option(help: "Characters at the start of the text held out for validation.")
    var validSize = 1000
    @Option(help: "Steps between validation perplexity measurements (0: only at the end).")
    var evalEvery = 1000
    @Option(help: "course (one character at a time, as the course) or batched (faster).")
    var validation: ValidationProtocol = .course
    @Option(help: "Steps between training-loss reports.")
    var reportEvery = 100
    @Option(help: "course (truncated normal, mean −0.1, sd 0.1) or glorot.")
    var initialization: CharLSTMConfig.Initialization = .course
    @OptionGroup var device: DeviceOptions
    @Option(help: "Random seed.")
    var seed: UInt64 = 1
    @OptionGroup var files: RunFileOptions

    func run() throws {
        var c = CharLSTMConfig()
        c.alphabet = alphabet
        c.maxVocabulary = maxVocab
        c.sampled = sampled
        c.bigram = bigram
        c.embedding = embedding
        c.layers = layers
        c.hidden = hidden
        c.batchSize = batchSize
        c.unrollings = unrollings
        c.steps = steps
        c.optimizer = optimizer
        c.learningRate = lr ?? (optimizer == .sgd ? 10 : 0.002)
        c.decay = decay
        c.decayEvery = decayEvery
        c.clip = clip
        c.dropout = dropout
        c.l2 = l2
        c.validSize = validSize
        c.initialization = initialization
        c.seed = seed

        let url = URL(fileURLWithPath: text)
        let corpus = try CharacterText.load(url, alphabet: alphabet, maxVocabulary: maxVocab)
        let unit = corpus.alphabet.isWords ? "words" : "characters"
        writeError("text: \(corpus.count) \(unit), alphabet \(alphabet.rawValue) of \(corpus.alphabet.count) symbols")
        let backend = try device.open()
        let trainer = try CharLSTMTrainer(text: corpus, config: c, backend: backend, communicator: Job.current)
        trainer.reportEvery = max(1, reportEvery)
        trainer.evalEvery = evalEvery > 0 ? evalEvery : steps
        trainer.validation = validation
        writeError("model: \(c.layers) × \(c.hidden) LSTM, \(trainer.model.parameterCount) parameters; "
                   + "training on \(trainer.train.count) \(unit), validating on \(trainer.valid.count)")
        try files.apply(to: trainer)
        let bar = ProgressBar()
        trainer.onProgress = { p in
            let loss = p.loss.map { String(format: "loss %.4f  perplexity %.2f", $0, exp($0)) } ?? "loss –"
            bar.update(fraction: Double(p.step) / Double(max(p.totalSteps, 1)), elapsed: p.elapsedSeconds,
                       detail: "step \(p.step)  \(String(format: "%.0f", p.stepsPerSecond)) steps/s  "
                           + "\(formatCount(p.examplesPerSecond)) \(unit)/s  \(loss)  lr \(String(format: "%.4g", p.learningRate))",
                       force: true)
        }
        trainer.onValidation = { step, ppl in bar.message(String(format: "step %d: validation perplexity %.3f", step, ppl)) }
        let summary = try trainer.run()
        bar.finish()
        let ppl = try summary.validationPerplexity ?? trainer.validationPerplexity(validation)
        if Job.size > 1 {
            let store = trainer.model.store
            writeRankError(String(format: "cursors %d..<%d; gradient allreduce %.2f s, host copies %.2f s, of %.2f s",
                                  trainer.cursors.lowerBound, trainer.cursors.upperBound,
                                  store.allreduceSeconds, store.transferSeconds, summary.seconds))
        }
        guard Job.isRoot else { return }
        print(String(format: "validation perplexity: %.3f at step %d (%.1f steps/s)", ppl, summary.steps,
                     summary.stepsPerSecond) + (Job.size > 1 ? " on \(Job.size) ranks" : ""))
    }
}

struct LSTMGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Generate text from a trained character LSTM.")

    @Option(help: "A checkpoint written by `loom lstm train --checkpoint`.")
    var checkpoint: String
    @Option(help: "Text to start from (its characters must be in the model's alphabet).")
    var prime = " "
    @Option(help: "Characters to generate.")
    var length = 200
    @Option(help: "Sampling temperature (default 1: the model's distribution); not with --greedy or --beam.")
    var temperature: Float?
    @Flag(help: "Always take the most probable character.")
    var greedy = false
    @Option(help: "Beam search with this many beams.")
    var beam: Int?
    @Flag(help: "Beam search: rank finished sequences by log-probability per character.")
    var lengthNormalization = false
    @Option(help: "Beam search: a character that ends a sequence (e.g. '.').")
    var stop: String?
    @OptionGroup var device: DeviceOptions
    @Option(help: "Random seed for sampling.")
    var seed: UInt64 = 1

    /// Options that would have no effect are refused, not ignored.
    func validate() throws {
        if greedy && beam != nil { throw ValidationError("choose one of --greedy and --beam") }
        if temperature != nil && (greedy || beam != nil) {
            throw ValidationError("--temperature sets the sampling; --\(greedy ? "greedy" : "beam") does not sample, "
                                      + "so it would have no effect: drop one of them")
        }
        if beam == nil {
            if lengthNormalization { throw ValidationError("--length-normalization applies to beam search: add --beam N") }
            if stop != nil { throw ValidationError("--stop applies to beam search: add --beam N") }
        }
        if let stop, stop.count != 1 { throw ValidationError("--stop takes one character") }
    }

    func run() throws {
        let backend = try device.open(quiet: true)
        let model = try CharLSTMTrainer.loadModel(from: URL(fileURLWithPath: checkpoint), backend: backend)
        let decoding: Decoding
        if let beam { decoding = .beam(width: beam, lengthNormalization: lengthNormalization) }
        else if greedy { decoding = .greedy }
        else { decoding = .sample(temperature: temperature ?? 1) }
        let out = try CharLSTMGenerator(model: model).generate(prime: prime, length: length, decoding: decoding,
                                                               seed: seed, stop: stop?.first)
        print(prime + (model.alphabet.isWords ? " " : "") + out.text)
        writeError(String(format: "log-probability %.3f (%.3f per symbol)", out.logProbability,
                          out.logProbability / Double(max(out.symbols.count, 1))))
    }
}
