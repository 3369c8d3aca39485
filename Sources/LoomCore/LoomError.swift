/// Errors every backend and model reports, with a message meant for the person at the terminal.
public enum LoomError: Error, CustomStringConvertible, Equatable {
    /// Operand shapes do not fit the op.
    case shapeMismatch(op: String, detail: String)
    /// An operand has the wrong element type.
    case dtypeMismatch(op: String, expected: DType, got: DType)
    /// A tensor allocated by another backend was passed to this one.
    case wrongBackend(op: String)
    /// An id (embedding row, class label) lies outside its table.
    case indexOutOfRange(op: String, index: Int, bound: Int)
    /// An argument out of its domain (a negative rate, a probability above 1, …).
    case invalidArgument(String)
    /// The requested device does not exist.
    case deviceNotFound(String)
    /// The op or feature is not available on this device. Loom never falls back silently.
    case unsupported(String)
    /// Reading or writing a file failed.
    case io(String)
    /// Data in a file is not what it should be (corrupt checkpoint, binary text, …).
    case invalidData(String)
    /// Training produced a non-finite loss: the run stops and nothing non-finite is saved.
    case diverged(step: Int, value: Double, advice: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, detail): return "\(op): shape mismatch: \(detail)"
        case let .dtypeMismatch(op, expected, got): return "\(op): expected \(expected) data, got \(got)"
        case let .wrongBackend(op): return "\(op): tensor belongs to another backend"
        case let .indexOutOfRange(op, index, bound): return "\(op): index \(index) out of range 0..<\(bound)"
        case let .invalidArgument(message): return message
        case let .deviceNotFound(message): return message
        case let .unsupported(message): return message
        case let .io(message): return message
        case let .invalidData(message): return message
        case let .diverged(step, value, advice):
            let shown = value.isNaN ? "not a number" : value.isInfinite ? "infinite" : "\(value)"
            return "training diverged at step \(step): the loss is \(shown); \(advice)"
        }
    }
}

/// The divergence check every trainer runs on the losses it reads back (at each report, and
/// before every validation and checkpoint, so a diverged state is never saved).
public enum Divergence {
    /// A mean loss above this many nats per target counts as divergence: an untrained softmax
    /// gives log V (under 15 for any vocabulary), and no model puts e^−100 on the right answer
    /// on average without its weights having blown up.
    public static let lossLimit = 100.0

    /// Throws `LoomError.diverged` for a non-finite or absurd `loss` at `step`.
    public static func check(_ loss: Double, step: Int, advice: String) throws {
        guard loss.isFinite && loss <= lossLimit else { throw LoomError.diverged(step: step, value: loss, advice: advice) }
    }
}
