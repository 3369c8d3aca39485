import Foundation
import Loom
import XCTest

/// Bad operands for every op family, on the CPU backend and on OpenCL: each fault must be the same
/// `LoomError` case on both (asserted by pattern, not by message) and, since both backends run the
/// same checker from LoomCore, the same error. Faults OpenCL finds on the device (ids out of range)
/// surface at `synchronize`, which every call here ends with.
final class OperandCheckTests: XCTestCase {
    /// The CPU backend, and OpenCL where there is a platform (`TestBackends.openCL` fails instead
    /// of skipping when `LOOM_REQUIRE_OPENCL=1`).
    private lazy var backends: [any Backend] = {
        var all: [any Backend] = [TestBackends.cpu]
        if let device = try? TestBackends.openCL() { all.append(device) }
        return all
    }()

    /// A backend other than `be`, for ownership faults.
    private func stranger(of be: any Backend) -> any Backend {
        be is CPUBackend ? CPUBackend(threads: 1) : TestBackends.cpu
    }

    /// Runs `body` then `synchronize` on every backend; each must throw `expected`, and all the same error.
    private func expect(_ expected: LoomErrorCase, _ what: String, file: StaticString = #filePath, line: UInt = #line,
                        _ body: (any Backend) throws -> Void) {
        var errors: [(backend: String, error: LoomError)] = []
        for be in backends {
            let error = assertLoomError(expected, "\(what) on \(be.name)", file: file, line: line) {
                try body(be)
                try be.synchronize()
            }
            if let error { errors.append((be.name, error)) }
        }
        guard let reference = errors.first else { return }
        for other in errors.dropFirst() {
            XCTAssertEqual(other.error, reference.error, "\(what): \(other.backend) and \(reference.backend) disagree",
                           file: file, line: line)
        }
        // The backend stays usable after the fault.
        for be in backends {
            XCTAssertNoThrow(try be.scalar(try be.tensor([Float(1)])), "\(what): \(be.name) after the fault",
                             file: file, line: line)
        }
    }

    private func ints(_ be: any Backend, _ values: [Int32], _ shape: Shape? = nil) throws -> Tensor {
        try be.tensor(values, shape: shape)
    }

    // MARK: Memory

    func testMemory() {
        expect(.shapeMismatch, "upload of too few bytes") { be in
            let t = try be.zeros([3])
            try [Float(1), 2].withUnsafeBytes { try be.upload($0, to: t) }
        }
        expect(.shapeMismatch, "download into too many bytes") { be in
            var out = [Float](repeating: 0, count: 4)
            try out.withUnsafeMutableBytes { try be.download(try be.zeros([3]), into: $0) }
        }
        expect(.shapeMismatch, "copy of another count") { be in try be.copy(try be.zeros([3]), to: try be.zeros([4])) }
        expect(.dtypeMismatch, "copy between types") { be in
            try be.copy(try be.zeros([3]), to: try be.zeros([3], dtype: .int32))
        }
        expect(.wrongBackend, "fill of a stranger's tensor") { be in try be.fill(try self.stranger(of: be).zeros([3]), value: 1) }
        expect(.wrongBackend, "upload into a stranger's tensor") { be in
            try be.upload([Float(1)], to: try self.stranger(of: be).zeros([1]))
        }
    }

    // MARK: Linear algebra

    func testLinearAlgebra() {
        expect(.shapeMismatch, "gemm with inner sizes 3 and 4") { be in
            try be.matmul(try be.zeros([2, 3]), try be.zeros([4, 5]), into: try be.zeros([2, 5]))
        }
        expect(.shapeMismatch, "gemm into the wrong c") { be in
            try be.matmul(try be.zeros([2, 3]), try be.zeros([3, 5]), into: try be.zeros([5, 2]))
        }
        expect(.dtypeMismatch, "gemm of int32") { be in
            try be.matmul(try be.zeros([2, 3], dtype: .int32), try be.zeros([3, 5]), into: try be.zeros([2, 5]))
        }
        expect(.shapeMismatch, "batchedGemm of matrices") { be in
            try be.batchedGemm(try be.zeros([2, 3]), try be.zeros([3, 5]), into: try be.zeros([2, 5]), transposeA: false,
                               transposeB: false, alpha: 1, beta: 0)
        }
        expect(.shapeMismatch, "batchedGemm over different batches") { be in
            try be.batchedGemm(try be.zeros([2, 2, 3]), try be.zeros([3, 3, 5]), into: try be.zeros([2, 2, 5]),
                               transposeA: false, transposeB: false, alpha: 1, beta: 0)
        }
        expect(.wrongBackend, "gemm with a stranger's b") { be in
            try be.matmul(try be.zeros([2, 3]), try self.stranger(of: be).zeros([3, 5]), into: try be.zeros([2, 5]))
        }
    }

    // MARK: Embeddings

    func testEmbeddings() {
        expect(.dtypeMismatch, "gather with float indices") { be in
            try be.gather(try be.zeros([4, 2]), indices: try be.zeros([2]), into: try be.zeros([2, 2]))
        }
        expect(.shapeMismatch, "gather into the wrong shape") { be in
            try be.gather(try be.zeros([4, 2]), indices: try self.ints(be, [1, 2]), into: try be.zeros([2, 3]))
        }
        expect(.shapeMismatch, "gather from a vector") { be in
            try be.gather(try be.zeros([4]), indices: try self.ints(be, [1, 2]), into: try be.zeros([2, 1]))
        }
        expect(.indexOutOfRange, "gather of id 9 from 4 rows") { be in
            try be.gather(try be.zeros([4, 2]), indices: try self.ints(be, [1, 9]), into: try be.zeros([2, 2]))
        }
        expect(.indexOutOfRange, "gather of id −1") { be in
            try be.gather(try be.zeros([4, 2]), indices: try self.ints(be, [-1, 0]), into: try be.zeros([2, 2]))
        }
        expect(.shapeMismatch, "scatterAdd of the wrong rows") { be in
            try be.scatterAdd(try be.zeros([3, 2]), indices: try self.ints(be, [1, 2]), into: try be.zeros([4, 2]))
        }
        expect(.indexOutOfRange, "scatterAdd into row 4 of 4") { be in
            try be.scatterAdd(try be.zeros([2, 2]), indices: try self.ints(be, [0, 4]), into: try be.zeros([4, 2]))
        }
        expect(.dtypeMismatch, "embeddingBag with float ids") { be in
            try be.embeddingBag(try be.zeros([4, 2]), ids: try be.zeros([2, 3]), into: try be.zeros([2, 2]), mean: true)
        }
        expect(.shapeMismatch, "embeddingBag into the wrong shape") { be in
            try be.embeddingBag(try be.zeros([4, 2]), ids: try self.ints(be, [0, 1, -1, 2, -1, -1], [2, 3]),
                                into: try be.zeros([3, 2]), mean: true)
        }
        expect(.indexOutOfRange, "embeddingBag of id 7 from 4 rows") { be in
            try be.embeddingBag(try be.zeros([4, 2]), ids: try self.ints(be, [0, 1, -1, 7, -1, -1], [2, 3]),
                                into: try be.zeros([2, 2]), mean: false)
        }
        expect(.shapeMismatch, "embeddingBagBackward of the wrong gradient") { be in
            try be.embeddingBagBackward(try be.zeros([2, 3]), slots: try self.ints(be, [0, 1, -1, 2, -1, -1], [2, 3]),
                                        into: try be.zeros([3, 2]), mean: true)
        }
        expect(.indexOutOfRange, "embeddingBagBackward into slot 3 of 3") { be in
            try be.embeddingBagBackward(try be.zeros([2, 2]), slots: try self.ints(be, [0, 1, -1, 3, -1, -1], [2, 3]),
                                        into: try be.zeros([3, 2]), mean: true)
        }
        expect(.shapeMismatch, "normalizeRows into the wrong shape") { be in
            try be.normalizeRows(try be.zeros([3, 2]), into: try be.zeros([2, 3]))
        }
        expect(.dtypeMismatch, "normalizeRows of int32") { be in
            try be.normalizeRows(try be.zeros([3, 2], dtype: .int32), into: try be.zeros([3, 2]))
        }
    }

    // MARK: Elementwise

    func testElementwise() {
        expect(.shapeMismatch, "add of 6 and 5 elements") { be in
            try be.add(try be.zeros([2, 3]), try be.zeros([5]), into: try be.zeros([6]))
        }
        expect(.dtypeMismatch, "multiply of int32") { be in
            try be.multiply(try be.zeros([6], dtype: .int32), try be.zeros([6]), into: try be.zeros([6]))
        }
        expect(.shapeMismatch, "axpy of 3 into 4") { be in try be.axpy(alpha: 2, try be.zeros([3]), try be.zeros([4])) }
        expect(.dtypeMismatch, "scale of int32") { be in try be.scale(try be.zeros([3], dtype: .int32), by: 2) }
        expect(.shapeMismatch, "sigmoid into fewer elements") { be in try be.sigmoid(try be.zeros([3]), into: try be.zeros([2])) }
        expect(.dtypeMismatch, "tanh into int32") { be in try be.tanh(try be.zeros([3]), into: try be.zeros([3], dtype: .int32)) }
        expect(.shapeMismatch, "sigmoidBackward of another count") { be in
            try be.sigmoidBackward(output: try be.zeros([3]), gradOutput: try be.zeros([4]), into: try be.zeros([3]))
        }
        expect(.shapeMismatch, "tanhBackward into another count") { be in
            try be.tanhBackward(output: try be.zeros([3]), gradOutput: try be.zeros([3]), into: try be.zeros([4]))
        }
        expect(.shapeMismatch, "relu into another count") { be in try be.relu(try be.zeros([3]), into: try be.zeros([4])) }
        expect(.dtypeMismatch, "reluBackward of int32") { be in
            try be.reluBackward(output: try be.zeros([3], dtype: .int32), gradOutput: try be.zeros([3]), into: try be.zeros([3]))
        }
        expect(.shapeMismatch, "addRowVector of 2 to rows of 3") { be in try be.addRowVector(try be.zeros([2]), to: try be.zeros([4, 3])) }
        expect(.shapeMismatch, "addRowVector to a vector") { be in try be.addRowVector(try be.zeros([3]), to: try be.zeros([3])) }
        expect(.shapeMismatch, "sumRows into 2 of 3 columns") { be in
            try be.sumRows(try be.zeros([4, 3]), into: try be.zeros([2]), accumulate: false)
        }
        expect(.wrongBackend, "add of a stranger's tensor") { be in
            try be.add(try be.zeros([3]), try self.stranger(of: be).zeros([3]), into: try be.zeros([3]))
        }
    }

    // MARK: Softmax

    func testSoftmax() {
        expect(.shapeMismatch, "softmax into the wrong shape") { be in try be.softmax(try be.zeros([2, 3]), into: try be.zeros([3, 2])) }
        expect(.dtypeMismatch, "softmaxCrossEntropy with float labels") { be in
            try be.softmaxCrossEntropy(try be.zeros([2, 4]), labels: try be.zeros([2]), probabilities: try be.zeros([2, 4]),
                                       losses: try be.zeros([2]))
        }
        expect(.shapeMismatch, "softmaxCrossEntropy with 3 labels for 2 rows") { be in
            try be.softmaxCrossEntropy(try be.zeros([2, 4]), labels: try self.ints(be, [0, 1, 2]),
                                       probabilities: try be.zeros([2, 4]), losses: try be.zeros([2]))
        }
        expect(.shapeMismatch, "softmaxCrossEntropy without classes") { be in
            try be.softmaxCrossEntropy(try be.zeros([2, 0]), labels: try self.ints(be, [-1, -1]),
                                       probabilities: try be.zeros([2, 0]), losses: try be.zeros([2]))
        }
        expect(.indexOutOfRange, "softmaxCrossEntropy of label 7 among 4") { be in
            try be.softmaxCrossEntropy(try be.zeros([2, 4]), labels: try self.ints(be, [1, 7]),
                                       probabilities: try be.zeros([2, 4]), losses: try be.zeros([2]))
        }
        expect(.indexOutOfRange, "softmaxCrossEntropy of label −2 (−1 is padding)") { be in
            try be.softmaxCrossEntropy(try be.zeros([2, 4]), labels: try self.ints(be, [-1, -2]),
                                       probabilities: try be.zeros([2, 4]), losses: try be.zeros([2]))
        }
        expect(.shapeMismatch, "softmaxCrossEntropyBackward into the wrong shape") { be in
            try be.softmaxCrossEntropyBackward(probabilities: try be.zeros([2, 4]), labels: try self.ints(be, [0, 1]),
                                               into: try be.zeros([4, 2]), scale: 1)
        }
        expect(.indexOutOfRange, "softmaxCrossEntropyBackward of label 4 among 4") { be in
            try be.softmaxCrossEntropyBackward(probabilities: try be.zeros([2, 4]), labels: try self.ints(be, [4, 1]),
                                               into: try be.zeros([2, 4]), scale: 1)
        }
        expect(.indexOutOfRange, "maskedSoftmax of length 4 over 3 columns") { be in
            try be.maskedSoftmax(try be.zeros([2, 3]), lengths: try self.ints(be, [4]), rowsPerLength: 2, into: try be.zeros([2, 3]))
        }
        expect(.shapeMismatch, "maskedSoftmax with a length per row, 2 rows per length") { be in
            try be.maskedSoftmax(try be.zeros([2, 3]), lengths: try self.ints(be, [1, 1]), rowsPerLength: 2,
                                 into: try be.zeros([2, 3]))
        }
        expect(.shapeMismatch, "maskedSoftmax with 0 rows per length") { be in
            try be.maskedSoftmax(try be.zeros([2, 3]), lengths: try self.ints(be, [1, 1]), rowsPerLength: 0,
                                 into: try be.zeros([2, 3]))
        }
        expect(.dtypeMismatch, "maskedSoftmax with float lengths") { be in
            try be.maskedSoftmax(try be.zeros([2, 3]), lengths: try be.zeros([2]), rowsPerLength: 1, into: try be.zeros([2, 3]))
        }
        expect(.shapeMismatch, "softmaxBackward of the wrong gradient") { be in
            try be.softmaxBackward(output: try be.zeros([2, 3]), gradOutput: try be.zeros([3, 2]), into: try be.zeros([2, 3]))
        }
    }

    // MARK: Dropout

    func testDropout() {
        for keep: Float in [0, -0.5, 1.5, .nan] {
            expect(.invalidArgument, "dropout keeping \(keep)") { be in
                try be.dropout(try be.zeros([4]), into: try be.zeros([4]), keepProbability: keep, seed: 1, stream: 0)
            }
        }
        expect(.shapeMismatch, "dropout into another count") { be in
            try be.dropout(try be.zeros([4]), into: try be.zeros([3]), keepProbability: 0.5, seed: 1, stream: 0)
        }
        expect(.dtypeMismatch, "dropoutBackward of int32") { be in
            try be.dropoutBackward(try be.zeros([4], dtype: .int32), into: try be.zeros([4]), keepProbability: 0.5, seed: 1,
                                   stream: 0)
        }
    }

    // MARK: Reductions

    func testReductions() {
        expect(.shapeMismatch, "sum into 2 elements") { be in try be.sum(try be.zeros([4]), into: try be.zeros([2]), accumulate: false) }
        expect(.dtypeMismatch, "sumOfSquares of int32") { be in
            try be.sumOfSquares(try be.zeros([4], dtype: .int32), into: try be.zeros([1]), accumulate: false)
        }
        expect(.shapeMismatch, "clipByGlobalNorm with 2 sums") { be in
            try be.clipByGlobalNorm(try be.zeros([4]), sumOfSquares: try be.zeros([2]), maxNorm: 1)
        }
        expect(.invalidArgument, "clipByGlobalNorm to norm 0") { be in
            try be.clipByGlobalNorm(try be.zeros([4]), sumOfSquares: try be.zeros([1]), maxNorm: 0)
        }
    }

    // MARK: Optimisers

    func testOptimisers() {
        let adam = UpdateRule.adam(learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 1)
        expect(.invalidArgument, "Adam with one state tensor") { be in
            try be.applyUpdate(adam, parameter: try be.zeros([4, 2]), gradient: try be.zeros([4, 2]),
                               state: [try be.zeros([4, 2])], rows: nil)
        }
        expect(.shapeMismatch, "momentum with a state of another count") { be in
            try be.applyUpdate(.momentum(learningRate: 0.1, momentum: 0.9), parameter: try be.zeros([4, 2]),
                               gradient: try be.zeros([4, 2]), state: [try be.zeros([3, 2])], rows: nil)
        }
        expect(.shapeMismatch, "a dense update with a smaller gradient") { be in
            try be.applyUpdate(.sgd(learningRate: 0.1), parameter: try be.zeros([4, 2]), gradient: try be.zeros([3, 2]),
                               state: [], rows: nil)
        }
        expect(.shapeMismatch, "a sparse update with 3 gradient rows for 2 ids") { be in
            try be.applyUpdate(.sgd(learningRate: 0.1), parameter: try be.zeros([4, 2]), gradient: try be.zeros([3, 2]),
                               state: [], rows: try self.ints(be, [0, 1]))
        }
        expect(.dtypeMismatch, "a sparse update with float rows") { be in
            try be.applyUpdate(.sgd(learningRate: 0.1), parameter: try be.zeros([4, 2]), gradient: try be.zeros([2, 2]),
                               state: [], rows: try be.zeros([2]))
        }
        expect(.indexOutOfRange, "a sparse update of row 9 of 4") { be in
            try be.applyUpdate(.adagrad(learningRate: 0.1, epsilon: 1e-6), parameter: try be.zeros([4, 2]),
                               gradient: try be.zeros([2, 2]), state: [try be.zeros([4, 2])], rows: try self.ints(be, [1, 9]))
        }
        expect(.wrongBackend, "an update with a stranger's state") { be in
            try be.applyUpdate(.momentum(learningRate: 0.1, momentum: 0.9), parameter: try be.zeros([4]),
                               gradient: try be.zeros([4]), state: [try self.stranger(of: be).zeros([4])], rows: nil)
        }
    }

    // MARK: LSTM cell

    func testLSTMCell() {
        let (b, h) = (2, 3)
        func z(_ be: any Backend, _ shape: Shape, _ dtype: DType = .float32) throws -> Tensor { try be.zeros(shape, dtype: dtype) }
        expect(.shapeMismatch, "gates that are not 4H wide") { be in
            try be.lstmGatesForward(gates: try z(be, [b, 10]), previousCell: try z(be, [b, h]), cell: try z(be, [b, h]),
                                    hidden: try z(be, [b, h]))
        }
        expect(.shapeMismatch, "a cell of the wrong width") { be in
            try be.lstmGatesForward(gates: try z(be, [b, 4 * h]), previousCell: try z(be, [b, h]), cell: try z(be, [b, h + 1]),
                                    hidden: try z(be, [b, h]))
        }
        expect(.dtypeMismatch, "int32 gate gradients") { be in
            try be.lstmGatesBackward(gates: try z(be, [b, 4 * h]), previousCell: try z(be, [b, h]), cell: try z(be, [b, h]),
                                     gradHidden: try z(be, [b, h]), gradCell: try z(be, [b, h]),
                                     gradGates: try z(be, [b, 4 * h], .int32))
        }
        expect(.shapeMismatch, "gate gradients of the wrong shape") { be in
            try be.lstmGatesBackward(gates: try z(be, [b, 4 * h]), previousCell: try z(be, [b, h]), cell: try z(be, [b, h]),
                                     gradHidden: try z(be, [b, h]), gradCell: try z(be, [b, h]), gradGates: try z(be, [b, h]))
        }
        expect(.shapeMismatch, "3 lengths for 2 rows") { be in
            try be.lstmGatesForward(gates: try z(be, [b, 4 * h]), previousCell: try z(be, [b, h]),
                                    previousHidden: try z(be, [b, h]), cell: try z(be, [b, h]), hidden: try z(be, [b, h]),
                                    lengths: try self.ints(be, [1, 2, 3]), step: 0)
        }
        expect(.dtypeMismatch, "float lengths") { be in
            try be.lstmGatesForward(gates: try z(be, [b, 4 * h]), previousCell: try z(be, [b, h]),
                                    previousHidden: try z(be, [b, h]), cell: try z(be, [b, h]), hidden: try z(be, [b, h]),
                                    lengths: try z(be, [b]), step: 0)
        }
        for step in [-1, Int(Int32.max) + 1] {
            expect(.invalidArgument, "step \(step)") { be in
                try be.lstmGatesBackward(gates: try z(be, [b, 4 * h]), previousCell: try z(be, [b, h]), cell: try z(be, [b, h]),
                                         gradHidden: try z(be, [b, h]), gradCell: try z(be, [b, h]),
                                         gradGates: try z(be, [b, 4 * h]), gradPreviousHidden: try z(be, [b, h]),
                                         lengths: try self.ints(be, [1, 2]), step: step)
            }
        }
    }

    // MARK: Convolution and pooling

    func testConvolution() {
        let g = ConvGeometry(batch: 2, height: 3, width: 3, channels: 1, kernel: 3, padding: 1)
        expect(.invalidArgument, "a window larger than the padded image") { be in
            try be.im2col(try be.zeros([18]), ConvGeometry(batch: 2, height: 3, width: 3, channels: 1, kernel: 5),
                          into: try be.zeros([2, 25]))
        }
        expect(.invalidArgument, "stride 0") { be in
            try be.im2col(try be.zeros([18]), ConvGeometry(batch: 2, height: 3, width: 3, channels: 1, kernel: 3, stride: 0),
                          into: try be.zeros([2, 9]))
        }
        expect(.shapeMismatch, "im2col into the wrong columns") { be in try be.im2col(try be.zeros([18]), g, into: try be.zeros([5, 9])) }
        expect(.shapeMismatch, "col2im into an image of the wrong size") { be in
            try be.col2im(try be.zeros([18, 9]), g, into: try be.zeros([17]))
        }
        expect(.dtypeMismatch, "maxPool with a float argmax") { be in
            try be.maxPool(try be.zeros([18]), g, into: try be.zeros([18]), argmax: try be.zeros([18]))
        }
        expect(.shapeMismatch, "maxPoolBackward of the wrong gradient") { be in
            try be.maxPoolBackward(try be.zeros([17]), argmax: try be.zeros([18], dtype: .int32), g, into: try be.zeros([18]))
        }
    }

    // MARK: t-SNE

    func testTSNE() {
        expect(.shapeMismatch, "p of (4, 3)") { be in
            try be.tsnePairForces(try be.zeros([4, 2]), p: try be.zeros([4, 3]), forces: try be.zeros([4, 4]),
                                  stats: try be.zeros([4, 3]), divergence: false)
        }
        expect(.shapeMismatch, "a 3-D embedding") { be in
            try be.tsnePairForces(try be.zeros([4, 3]), p: try be.zeros([4, 4]), forces: try be.zeros([4, 4]),
                                  stats: try be.zeros([4, 3]), divergence: true)
        }
        expect(.shapeMismatch, "a divergence of 2 elements") { be in
            try be.tsneGradient(forces: try be.zeros([4, 4]), stats: try be.zeros([4, 3]), exaggeration: 12,
                                gradient: try be.zeros([4, 2]), divergence: try be.zeros([2]))
        }
        expect(.shapeMismatch, "velocity of another count") { be in
            try be.tsneUpdate(try be.zeros([4, 2]), gradient: try be.zeros([4, 2]), velocity: try be.zeros([3, 2]),
                              gains: try be.zeros([4, 2]), learningRate: 200, momentum: 0.5, minGain: 0.01)
        }
        expect(.dtypeMismatch, "int32 gains") { be in
            try be.tsneUpdate(try be.zeros([4, 2]), gradient: try be.zeros([4, 2]), velocity: try be.zeros([4, 2]),
                              gains: try be.zeros([4, 2], dtype: .int32), learningRate: 200, momentum: 0.5, minGain: 0.01)
        }
    }

    // MARK: Fused losses

    func testSampledSoftmax() {
        let (b, s, v, d) = (3, 2, 5, 4)
        func problem(_ be: any Backend, labels: [Int32] = [0, 1, 2], sampled: [Int32] = [3, 4], weights: Shape? = nil,
                     labelsDType: DType = .int32) throws -> SampledSoftmaxProblem {
            SampledSoftmaxProblem(
                inputs: try be.zeros([b, d]),
                labels: labelsDType == .int32 ? try self.ints(be, labels) : try be.zeros([labels.count]),
                sampled: try self.ints(be, sampled), labelLogQ: try be.zeros([b]), sampledLogQ: try be.zeros([sampled.count]),
                weights: try be.zeros(weights ?? [v, d]), biases: try be.zeros([v]))
        }
        func outputs(_ be: any Backend) throws -> SampledSoftmaxOutputs {
            try SampledSoftmaxOutputs.allocate(on: be, batch: b, sampled: s, dim: d)
        }
        expect(.shapeMismatch, "weights of another dimension") { be in
            try be.sampledSoftmax(try problem(be, weights: [v, d + 1]), outputs: try outputs(be), lossScale: 1)
        }
        expect(.dtypeMismatch, "float labels") { be in
            try be.sampledSoftmax(try problem(be, labelsDType: .float32), outputs: try outputs(be), lossScale: 1)
        }
        expect(.shapeMismatch, "outputs for 3 samples") { be in
            try be.sampledSoftmax(try problem(be), outputs: try SampledSoftmaxOutputs.allocate(on: be, batch: b, sampled: 3, dim: d),
                                  lossScale: 1)
        }
        expect(.indexOutOfRange, "label 5 of 5 classes") { be in
            try be.sampledSoftmax(try problem(be, labels: [0, 5, 1]), outputs: try outputs(be), lossScale: 1)
        }
        expect(.indexOutOfRange, "sampled class −3") { be in
            try be.sampledSoftmax(try problem(be, sampled: [3, -3]), outputs: try outputs(be), lossScale: 1)
        }
    }

    func testNegativeSampling() {
        let (b, k, v, d) = (3, 2, 5, 4)
        func problem(_ be: any Backend, targets: [Int32] = [0, 1, 2], negatives: [Int32] = [3, 4, 4, 3, 1, 0],
                     negativeRows: Int = b) throws -> NegativeSamplingProblem {
            NegativeSamplingProblem(inputs: try be.zeros([b, d]), targets: try self.ints(be, targets),
                                    negatives: try self.ints(be, negatives, [negativeRows, negatives.count / negativeRows]),
                                    weights: try be.zeros([v, d]))
        }
        func outputs(_ be: any Backend) throws -> NegativeSamplingOutputs {
            try NegativeSamplingOutputs.allocate(on: be, batch: b, negatives: k, dim: d)
        }
        expect(.shapeMismatch, "negatives for 2 pairs of 3") { be in
            try be.negativeSampling(try problem(be, negatives: [3, 4, 4, 3], negativeRows: 2), outputs: try outputs(be),
                                    lossScale: 1)
        }
        expect(.shapeMismatch, "outputs for 3 negatives") { be in
            try be.negativeSampling(try problem(be), outputs: try NegativeSamplingOutputs.allocate(on: be, batch: b, negatives: 3, dim: d),
                                    lossScale: 1)
        }
        expect(.indexOutOfRange, "target 7 of 5 words") { be in
            try be.negativeSampling(try problem(be, targets: [0, 7, 1]), outputs: try outputs(be), lossScale: 1)
        }
        expect(.indexOutOfRange, "negative −1") { be in
            try be.negativeSampling(try problem(be, negatives: [3, 4, 4, -1, 1, 0]), outputs: try outputs(be), lossScale: 1)
        }
    }

    func testWord2VecPass() {
        let v = 5, d = 4
        let corpus: [Int32] = (0..<40).map { Int32($0 % v) }
        func tables(_ be: any Backend) throws -> Word2VecTables {
            try Word2VecTables(corpus: corpus, keep: [Float](repeating: 1, count: v),
                               aliasProbability: [Float](repeating: 1, count: v), aliasIndex: (0..<Int32(v)).map { $0 }, on: be)
        }
        var pass = Word2VecPass()
        pass.sentenceLength = 10
        pass.sentenceCount = 4
        pass.workers = 1
        func run(_ be: any Backend, _ pass: Word2VecPass, rows: Int = v, stats: Int = 2) throws {
            try be.word2vecPass(pass, tables: try tables(be), input: try be.zeros([rows, d]), output: try be.zeros([rows, d]),
                                stats: try be.zeros([stats]))
        }
        var narrow = pass
        narrow.window = 0
        expect(.invalidArgument, "window 0") { be in try run(be, narrow) }
        var long = pass
        long.sentenceCount = 5
        expect(.invalidArgument, "5 sentences of a corpus of 4") { be in try run(be, long) }
        expect(.shapeMismatch, "tables of 4 rows for 5 words") { be in try run(be, pass, rows: 4) }
        expect(.shapeMismatch, "3 stats") { be in try run(be, pass, stats: 3) }
        expect(.indexOutOfRange, "a corpus id beyond the vocabulary") { be in
            _ = try Word2VecTables(corpus: [0, 5], keep: [Float](repeating: 1, count: v),
                                   aliasProbability: [Float](repeating: 1, count: v), aliasIndex: (0..<Int32(v)).map { $0 }, on: be)
        }
    }
}
