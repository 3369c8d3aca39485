import Foundation
import LoomCore

/// How a parameter's values start.
public enum Initializer: Equatable, Sendable {
    /// All zeros (biases).
    case zeros
    /// A constant (e.g. a forget-gate bias of 1).
    case constant(Float)
    /// Glorot/Xavier uniform in ±√(6 / (fanIn + fanOut)).
    case glorot(fanIn: Int, fanOut: Int)
    /// `tf.truncated_normal(shape, mean, sd)`: normal draws redrawn beyond 2 sd (the course's
    /// `(-0.1, 0.1)` is mean −0.1, sd 0.1).
    case truncatedNormal(mean: Double, standardDeviation: Double)
}

/// Every trainable tensor of a model in one place: layers register named parameters (shape,
/// initialiser, whether L2 decays them) and get views into one flat value buffer, one flat
/// gradient buffer and one flat buffer per optimiser state. L2, global-norm clipping and the
/// optimiser step are then one op each for the whole model, and checkpoints save by name.
///
/// Use: layers call `register` in their initialisers; the model then calls `allocate` once.
public final class ParameterStore {
    /// A registered parameter; `value`, `gradient` and `state` are views of the flat buffers.
    public struct Parameter {
        public let name: String
        public let shape: Shape
        public let initializer: Initializer
        /// Weight matrices take L2 decay; biases do not.
        public let decays: Bool
        public internal(set) var value: Tensor!
        public internal(set) var gradient: Tensor!
        public internal(set) var state: [Tensor] = []
    }

    /// Index of a parameter in the store.
    public struct ID: Hashable, Sendable {
        public let index: Int
    }

    public private(set) var parameters: [Parameter] = []
    public private(set) var backend: (any Backend)?
    /// The flat buffers (after `allocate`).
    public private(set) var values: Tensor!
    public private(set) var gradients: Tensor!
    public private(set) var state: [Tensor] = []
    /// `(1)` scratch: Σ g² for clipping.
    private var normScratch: Tensor!

    /// The job whose ranks average their gradients in `update` (see `distribute`); nil: one rank.
    public private(set) var communicator: (any Communicator)?
    /// This rank's fraction of the global batch's gradient: of its examples, or of its targets
    /// when the loss is a mean over targets (a trainer may set it every step; 0 for a rank with no
    /// examples this step, which still takes part in the allreduce).
    public var share: Float = 1 {
        didSet { precondition(share >= 0 && share <= 1, "a rank's share of the batch is in [0, 1]") }
    }
    /// The gradients on the host, for the allreduce.
    private var hostGradients: [Float] = []
    /// Seconds spent in the gradient allreduce itself, and in moving the gradients to the host and
    /// back (which also waits for the backward pass on an asynchronous device), since `allocate`.
    public private(set) var allreduceSeconds = 0.0, transferSeconds = 0.0

    public init() {}

    /// Registers a parameter; its tensors exist after `allocate`.
    @discardableResult
    public func register(_ name: String, shape: Shape, initializer: Initializer, decays: Bool) -> ID {
        precondition(backend == nil, "register parameters before allocate")
        precondition(!parameters.contains { $0.name == name }, "parameter \(name) registered twice")
        parameters.append(Parameter(name: name, shape: shape, initializer: initializer, decays: decays))
        return ID(index: parameters.count - 1)
    }

    public subscript(id: ID) -> Parameter { parameters[id.index] }

    /// Number of trainable values.
    public var count: Int { parameters.reduce(0) { $0 + $1.shape.count } }

    /// Allocates the flat buffers on `backend`, with `stateCount` optimiser-state buffers, and
    /// initialises the values in registration order from one generator seeded with `seed`.
    public func allocate(on backend: any Backend, stateCount: Int, seed: UInt64) throws {
        precondition(self.backend == nil, "allocate once")
        let total = count
        var rng = SeededGenerator(seed: seed)
        var host: [Float] = []
        host.reserveCapacity(total)
        for p in parameters {
            let n = p.shape.count
            switch p.initializer {
            case .zeros: host += [Float](repeating: 0, count: n)
            case let .constant(c): host += [Float](repeating: c, count: n)
            case let .glorot(fanIn, fanOut):
                let limit = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
                for _ in 0..<n { host.append((rng.nextFloat() * 2 - 1) * limit) }
            case let .truncatedNormal(mean, sd):
                for _ in 0..<n {
                    var x = rng.nextGaussian()
                    while abs(x) > 2 { x = rng.nextGaussian() }
                    host.append(Float(mean + sd * x))
                }
            }
        }
        values = try backend.tensor(host)
        gradients = try backend.zeros([total])
        state = try (0..<stateCount).map { _ in try backend.zeros([total]) }
        normScratch = try backend.zeros([1])
        var offset = 0
        for i in parameters.indices {
            let n = parameters[i].shape.count, shape = parameters[i].shape
            parameters[i].value = values.elements(offset, count: n).reshaped(shape)
            parameters[i].gradient = gradients.elements(offset, count: n).reshaped(shape)
            parameters[i].state = state.map { $0.elements(offset, count: n).reshaped(shape) }
            offset += n
        }
        self.backend = backend
    }

    /// Synchronous data parallelism: from now on `update` first replaces every rank's gradient by
    /// Σ_r share_r · g_r over the ranks of `communicator`. Each rank's `g_r` is the mean over its
    /// part of the global batch and `share` that part's fraction of the batch, so every rank then
    /// steps with the gradient of the whole batch and the parameters stay equal on all ranks
    /// (they start equal: the initialisation is seeded). The gradients travel as one flat buffer.
    public func distribute(over communicator: any Communicator, share: Float = 1) {
        self.communicator = communicator.size > 1 ? communicator : nil
        self.share = share
    }

    /// The step of a rank with no examples in it: a zero gradient joins the allreduce, and the
    /// update the other ranks take is taken here too.
    public func stepWithoutExamples(_ rule: UpdateRule, l2: Float, clip: Float) throws {
        guard let be = backend else { throw LoomError.invalidArgument("the parameter store is not allocated") }
        try be.fill(gradients, value: 0)
        try update(rule, l2: l2, clip: clip)
    }

    /// One allreduce of the flat gradient buffer through the host.
    private func allreduceGradients(_ communicator: any Communicator, on be: any Backend) throws {
        if hostGradients.count != gradients.shape.count { hostGradients = [Float](repeating: 0, count: gradients.shape.count) }
        let t0 = DispatchTime.now().uptimeNanoseconds
        if share != 1 { try be.scale(gradients, by: share) }
        try hostGradients.withUnsafeMutableBytes { try be.download(gradients, into: $0) }
        let t1 = DispatchTime.now().uptimeNanoseconds
        try communicator.allreduceSum(&hostGradients)
        let t2 = DispatchTime.now().uptimeNanoseconds
        try hostGradients.withUnsafeBytes { try be.upload($0, to: gradients) }
        let t3 = DispatchTime.now().uptimeNanoseconds
        allreduceSeconds += Double(t2 - t1) / 1e9
        transferSeconds += Double(t1 - t0 + t3 - t2) / 1e9
    }

    /// L2 decay on the decaying parameters, clipping by the global norm of every gradient, and
    /// one optimiser step on the flat buffers — all on the device (after the gradients' allreduce
    /// when the store is `distribute`d).
    public func update(_ rule: UpdateRule, l2: Float, clip: Float) throws {
        guard let be = backend else { throw LoomError.invalidArgument("the parameter store is not allocated") }
        if let communicator { try allreduceGradients(communicator, on: be) }
        if l2 > 0 {
            for p in parameters where p.decays { try be.axpy(alpha: l2, p.value, p.gradient) }
        }
        if clip > 0 {
            try be.sumOfSquares(gradients, into: normScratch, accumulate: false)
            try be.clipByGlobalNorm(gradients, sumOfSquares: normScratch, maxNorm: clip)
        }
        try be.applyUpdate(rule, parameter: values, gradient: gradients, state: state, rows: nil)
    }

    /// Writes every parameter (and its optimiser state) into `archive` by name.
    public func save(into archive: inout TensorArchive) throws {
        guard let be = backend else { throw LoomError.invalidArgument("the parameter store is not allocated") }
        for p in parameters {
            try archive.set(p.name, tensor: p.value, from: be)
            for (i, s) in p.state.enumerated() { try archive.set("\(p.name).state\(i)", tensor: s, from: be) }
        }
    }

    /// Reads every parameter by name; optimiser state too when `state` (a resumed run).
    public func restore(from archive: TensorArchive, state withState: Bool = true) throws {
        guard let be = backend else { throw LoomError.invalidArgument("the parameter store is not allocated") }
        for p in parameters {
            try archive.load(p.name, into: p.value, on: be)
            if withState {
                for (i, s) in p.state.enumerated() { try archive.load("\(p.name).state\(i)", into: s, on: be) }
            }
        }
    }
}
