import Foundation

/// One report of a training run: what a run log line and a TensorBoard event hold.
///
/// Written as one JSON object per line with the keys `step`, `elapsed`, `loss`, `perplexity`,
/// `lr`, `steps_per_sec`, `examples_per_sec`, `words_per_sec`, `words`, plus each validation
/// metric under its own name (`valid_perplexity`, `valid_bleu`, …); absent and non-finite values
/// are `null` or left out.
public struct RunRecord: Codable, Equatable, Sendable {
    public var step: Int
    /// Seconds since the run (or the resumed part of it) started.
    public var elapsed: Double?
    public var loss: Double?
    public var perplexity: Double?
    public var learningRate: Double?
    public var stepsPerSecond: Double?
    public var examplesPerSecond: Double?
    public var wordsPerSecond: Double?
    /// Words trained on so far (word2vec).
    public var words: Int?
    /// Validation results by name (`valid_perplexity`, `valid_exact`, `valid_chrf`, …).
    public var validation: [String: Double]

    public init(step: Int, elapsed: Double? = nil, loss: Double? = nil, perplexity: Double? = nil,
                learningRate: Double? = nil, stepsPerSecond: Double? = nil, examplesPerSecond: Double? = nil,
                wordsPerSecond: Double? = nil, words: Int? = nil, validation: [String: Double] = [:]) {
        self.step = step
        self.elapsed = elapsed
        self.loss = loss
        self.perplexity = perplexity
        self.learningRate = learningRate
        self.stepsPerSecond = stepsPerSecond
        self.examplesPerSecond = examplesPerSecond
        self.wordsPerSecond = wordsPerSecond
        self.words = words
        self.validation = validation
    }

    /// The keys of the fixed fields, as they appear in a line.
    static let fieldKeys = ["step", "elapsed", "loss", "perplexity", "lr", "steps_per_sec", "examples_per_sec",
                            "words_per_sec", "words"]

    /// The finite number stored under `key` (a field's key or a validation metric's name).
    public func value(_ key: String) -> Double? {
        let v: Double?
        switch key {
        case "step": v = Double(step)
        case "elapsed": v = elapsed
        case "loss": v = loss
        case "perplexity": v = perplexity
        case "lr": v = learningRate
        case "steps_per_sec": v = stepsPerSecond
        case "examples_per_sec": v = examplesPerSecond
        case "words_per_sec": v = wordsPerSecond
        case "words": v = words.map(Double.init)
        default: v = validation[key]
        }
        return v.flatMap { $0.isFinite ? $0 : nil }
    }

    /// Every finite number but the step, by key, in key order: what TensorBoard draws.
    public var scalars: [(key: String, value: Double)] {
        (Self.fieldKeys.dropFirst() + validation.keys).sorted().compactMap { k in value(k).map { (k, $0) } }
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(step, forKey: Key("step"))
        for key in Self.fieldKeys.dropFirst() + validation.keys.sorted() {
            if key == "words", let words { try c.encode(words, forKey: Key(key)); continue }
            if let v = value(key) { try c.encode(v, forKey: Key(key)) }
        }
    }

    /// Reads a line back: `step` must be a number; other numbers are fields or validation
    /// metrics; strings, booleans and nulls are skipped (logs of other tools may hold them).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        func number(_ key: String) -> Double? {
            guard c.contains(Key(key)), (try? c.decode(Bool.self, forKey: Key(key))) == nil else { return nil }
            return (try? c.decode(Double.self, forKey: Key(key))).flatMap { $0.isFinite ? $0 : nil }
        }
        guard let step = number("step"), let whole = Int(exactly: step) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "no whole-number \"step\""))
        }
        self.init(step: whole, elapsed: number("elapsed"), loss: number("loss"), perplexity: number("perplexity"),
                  learningRate: number("lr"), stepsPerSecond: number("steps_per_sec"),
                  examplesPerSecond: number("examples_per_sec"), wordsPerSecond: number("words_per_sec"),
                  words: number("words").flatMap { Int(exactly: $0) })
        for key in c.allKeys.map(\.stringValue) where !Self.fieldKeys.contains(key) {
            if let v = number(key) { validation[key] = v }
        }
    }
}

/// Where a trainer sends its reports: a run log, TensorBoard event files, or both.
public protocol RunRecorder: AnyObject {
    func record(_ record: RunRecord) throws
}

/// Several recorders as one (`--log` and `--tensorboard` together).
public final class RunRecorders: RunRecorder {
    public let recorders: [any RunRecorder]
    public init(_ recorders: [any RunRecorder]) { self.recorders = recorders }
    public func record(_ record: RunRecord) throws { for r in recorders { try r.record(record) } }
}

/// A training run's log: one JSON object per line (a `RunRecord`), appended and flushed as it
/// goes so a crashed run still leaves its history. `loom plot` draws these files.
public final class RunLog: RunRecorder {
    public let url: URL
    private let handle: FileHandle
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    /// Creates (or truncates) `url`, or appends when `append` (a resumed run).
    public init(_ url: URL, append: Bool = false) throws {
        self.url = url
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw LoomError.io("cannot create folder for \(url.path): \(error.localizedDescription)")
        }
        if !append || !fm.fileExists(atPath: url.path) {
            guard fm.createFile(atPath: url.path, contents: nil) else { throw LoomError.io("cannot write \(url.path)") }
        }
        do {
            handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
        } catch {
            throw LoomError.io("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    deinit { try? handle.close() }

    /// Appends one record as a line.
    public func record(_ record: RunRecord) throws {
        var line = try encoder.encode(record)
        line.append(0x0A)
        do {
            try handle.write(contentsOf: line)
        } catch {
            throw LoomError.io("writing \(url.path) failed: \(error.localizedDescription)")
        }
    }
}
