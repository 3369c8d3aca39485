import Foundation
import Loom
import XCTest

/// The ops sequence-to-sequence models add: padded cross-entropy, masked softmax and its
/// backward, variable-length LSTM gates — OpenCL against the CPU reference on odd sizes, and
/// every backward against finite differences.
final class Seq2SeqOpTests: XCTestCase {
    let be = TestBackends.cpu

    // MARK: Parity

    func testPaddedCrossEntropyParity() throws {
        for (n, c) in [(1, 1), (7, 5), (33, 65), (300, 129)] {
            try checkParity("padded xent n=\(n) c=\(c)", atol: 1e-6, rtol: 1e-4) { be in
                var data = TestData(seed: UInt64(n + c))
                var labels = data.ids(n, below: c)
                for i in stride(from: 0, to: n, by: 3) { labels[i] = -1 }
                let logits = try be.tensor(data.uniform(n * c, -5, 5), shape: [n, c])
                let p = try be.zeros([n, c]), losses = try be.zeros([n]), grad = try be.zeros([n, c])
                let lt = try be.tensor(labels)
                try be.softmaxCrossEntropy(logits, labels: lt, probabilities: p, losses: losses)
                try be.softmaxCrossEntropyBackward(probabilities: p, labels: lt, into: grad, scale: 0.5)
                return [("losses", try be.floats(losses)), ("grad", try be.floats(grad))]
            }
        }
    }

    func testMaskedSoftmaxParity() throws {
        for (groups, rows, c) in [(1, 1, 1), (3, 2, 7), (5, 3, 33), (2, 9, 300)] {
            try checkParity("masked softmax \(groups)x\(rows)x\(c)", atol: 1e-6, rtol: 1e-4) { be in
                var data = TestData(seed: UInt64(groups * rows + c))
                let n = groups * rows
                let lengths = (0..<groups).map { Int32($0 == 0 ? c : ($0 * 7) % (c + 1)) }
                let x = try be.tensor(data.uniform(n * c, -4, 4), shape: [n, c])
                let y = try be.zeros([n, c]), g = try be.tensor(data.uniform(n * c), shape: [n, c]), d = try be.zeros([n, c])
                try be.maskedSoftmax(x, lengths: try be.tensor(lengths), rowsPerLength: rows, into: y)
                try be.softmaxBackward(output: y, gradOutput: g, into: d)
                return [("y", try be.floats(y)), ("dx", try be.floats(d))]
            }
        }
    }

    func testVariableLengthLSTMGatesParity() throws {
        for (b, h) in [(1, 1), (5, 3), (7, 129)] {
            try checkParity("masked lstm b=\(b) h=\(h)", atol: 1e-5, rtol: 1e-4) { be in
                var data = TestData(seed: UInt64(b * 31 + h))
                let lengths = try be.tensor((0..<b).map { Int32($0 % 3) })
                let gates = try be.tensor(data.uniform(b * 4 * h, -3, 3), shape: [b, 4 * h])
                let cp = try be.tensor(data.uniform(b * h), shape: [b, h]), hp = try be.tensor(data.uniform(b * h), shape: [b, h])
                let c = try be.zeros([b, h]), hs = try be.zeros([b, h])
                try be.lstmGatesForward(gates: gates, previousCell: cp, previousHidden: hp, cell: c, hidden: hs,
                                        lengths: lengths, step: 1)
                let dh = try be.tensor(data.uniform(b * h), shape: [b, h]), dc = try be.tensor(data.uniform(b * h), shape: [b, h])
                let dg = try be.zeros([b, 4 * h]), dhp = try be.tensor(data.uniform(b * h), shape: [b, h])
                try be.lstmGatesBackward(gates: gates, previousCell: cp, cell: c, gradHidden: dh, gradCell: dc, gradGates: dg,
                                         gradPreviousHidden: dhp, lengths: lengths, step: 1)
                return [("cell", try be.floats(c)), ("hidden", try be.floats(hs)), ("dgates", try be.floats(dg)),
                        ("dc", try be.floats(dc)), ("dhprev", try be.floats(dhp))]
            }
        }
    }

    func testBadLengthsAreNamedErrors() throws {
        var backends: [any Backend] = [TestBackends.cpu]
        if let device = try? TestBackends.openCL() { backends.append(device) }
        for be in backends {
            let x = try be.zeros([2, 3]), y = try be.zeros([2, 3])
            let error = assertLoomError(.indexOutOfRange, be.name) {
                try be.maskedSoftmax(x, lengths: try be.tensor([Int32(4)]), rowsPerLength: 2, into: y)
                try be.synchronize()
            }
            XCTAssertEqual(error, .indexOutOfRange(op: "maskedSoftmax", index: 4, bound: 4), be.name)
            assertLoomError(.shapeMismatch, be.name) {
                try be.maskedSoftmax(x, lengths: try be.tensor([Int32(1), 1]), rowsPerLength: 2, into: y)
            }
        }
    }

    // MARK: Finite differences

    func testPaddedCrossEntropyBackward() throws {
        let (n, c) = (5, 4)
        var data = TestData(seed: 3)
        let z = data.uniform(n * c, -2, 2)
        let labels: [Int32] = [2, -1, 0, -1, 3]
        let probs = try be.zeros([n, c]), losses = try be.zeros([n]), grad = try be.zeros([n, c])
        let lt = try be.tensor(labels)
        try be.softmaxCrossEntropy(try be.tensor(z, shape: [n, c]), labels: lt, probabilities: probs, losses: losses)
        try be.softmaxCrossEntropyBackward(probabilities: probs, labels: lt, into: grad, scale: 1 / 3)
        func loss(_ z: [Double]) -> Double {
            var total = 0.0
            for i in 0..<n where labels[i] >= 0 {
                let row = z[(i * c)..<((i + 1) * c)], m = row.max()!
                total += m + log(row.reduce(0) { $0 + exp($1 - m) }) - z[i * c + Int(labels[i])]
            }
            return total / 3
        }
        assertClose(try be.floats(grad).map(Double.init), numericGradient(z.map(Double.init), loss), atol: 1e-6, rtol: 1e-4,
                    "padded cross-entropy")
        let l = try be.floats(losses)
        XCTAssertEqual(l[1], 0)
        XCTAssertEqual(l[3], 0)
        // −2 is not padding: a clear error.
        assertLoomError(.indexOutOfRange) {
            try self.be.softmaxCrossEntropy(try self.be.tensor(z, shape: [n, c]), labels: try self.be.tensor([Int32](arrayLiteral: 0, -2, 0, 0, 0)),
                                            probabilities: probs, losses: losses)
        }
    }

    func testMaskedSoftmaxBackward() throws {
        let (groups, rows, c) = (2, 2, 5)
        var data = TestData(seed: 4)
        let x = data.uniform(groups * rows * c, -2, 2), r = data.uniform(groups * rows * c)
        let lengths: [Int32] = [3, 5]
        let y = try be.zeros([groups * rows, c]), d = try be.zeros([groups * rows, c])
        try be.maskedSoftmax(try be.tensor(x, shape: [groups * rows, c]), lengths: try be.tensor(lengths), rowsPerLength: rows, into: y)
        try be.softmaxBackward(output: y, gradOutput: try be.tensor(r, shape: [groups * rows, c]), into: d)
        func loss(_ x: [Double]) -> Double {
            var total = 0.0
            for i in 0..<(groups * rows) {
                let m = Int(lengths[i / rows])
                let row = x[(i * c)..<(i * c + m)], top = row.max()!
                let s = row.reduce(0) { $0 + exp($1 - top) }
                for j in 0..<m { total += Double(r[i * c + j]) * exp(x[i * c + j] - top) / s }
            }
            return total
        }
        assertClose(try be.floats(d).map(Double.init), numericGradient(x.map(Double.init), loss), atol: 1e-6, rtol: 1e-4,
                    "masked softmax")
        let out = try be.floats(y)
        XCTAssertEqual(out[3], 0)
        XCTAssertEqual(out[4], 0)
        XCTAssertEqual(Double(out[0..<5].reduce(0, +)), 1, accuracy: 1e-6)
    }
}
