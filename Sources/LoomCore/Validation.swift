/// Operand checks shared by every backend, so each op rejects bad operands the same way everywhere
/// (and before any device work is enqueued).
///
/// Each op has one checker (`Check.gather`, `Check.softmaxCrossEntropy`, `GemmSizes.resolve`, …,
/// in the `Checks+*.swift` files by op family) that validates every dtype, shape and count both
/// backends rely on and returns the sizes the backend loops or launches over. A backend calls it
/// first and adds only what is its own: ownership (`Check.owned`, one call) and, on OpenCL,
/// `Check.fitsInt32` for its 32-bit kernel offsets.
///
/// Faults map to one `LoomError` case each, on every backend:
/// - a tensor of the wrong element type: `dtypeMismatch`;
/// - a tensor of another backend: `wrongBackend`;
/// - shapes, counts or ranks that do not fit the op: `shapeMismatch`;
/// - an id outside its table (a row, a class, a length): `indexOutOfRange`. Ids live in device
///   memory, so this is the one check that reads values: the CPU backend runs `Check.ids` over
///   them before the op; OpenCL kernels test the same rule (`IDRule`, mirrored in `common.cl`),
///   skip the bad element and flag it, and the error is thrown at the next `synchronize` or
///   `download`;
/// - a scalar argument out of its domain (a keep probability, a window, a step): `invalidArgument`;
/// - a size only this device cannot handle (OpenCL's 32-bit offsets): `unsupported`.
package enum Check {
    package static func dtype(_ op: String, _ t: Tensor, _ expected: DType) throws {
        guard t.dtype == expected else { throw LoomError.dtypeMismatch(op: op, expected: expected, got: t.dtype) }
    }

    package static func float(_ op: String, _ tensors: Tensor...) throws {
        for t in tensors { try dtype(op, t, .float32) }
    }

    package static func owned(_ op: String, by backend: AnyObject, _ tensors: Tensor...) throws {
        try owned(op, by: backend, tensors)
    }

    package static func owned(_ op: String, by backend: AnyObject, _ tensors: [Tensor]) throws {
        let id = ObjectIdentifier(backend)
        for t in tensors where t.storage.owner != id { throw LoomError.wrongBackend(op: op) }
    }

    package static func sameCount(_ op: String, _ tensors: Tensor...) throws {
        guard let first = tensors.first else { return }
        for t in tensors.dropFirst() where t.count != first.count {
            throw LoomError.shapeMismatch(op: op, detail: "\(first.shape) and \(t.shape) differ in size")
        }
    }

    package static func shape(_ op: String, _ name: String, _ t: Tensor, _ expected: Shape) throws {
        guard t.shape == expected else {
            throw LoomError.shapeMismatch(op: op, detail: "\(name) is \(t.shape), expected \(expected)")
        }
    }

    package static func count(_ op: String, _ name: String, _ t: Tensor, _ expected: Int) throws {
        guard t.count == expected else {
            throw LoomError.shapeMismatch(op: op, detail: "\(name) has \(t.count) elements, expected \(expected)")
        }
    }

    package static func matrix(_ op: String, _ name: String, _ t: Tensor) throws -> (rows: Int, columns: Int) {
        guard t.shape.rank == 2 else {
            throw LoomError.shapeMismatch(op: op, detail: "\(name) must be a matrix, got \(t.shape)")
        }
        return (t.shape[0], t.shape[1])
    }

    package static func probability(_ op: String, _ p: Float) throws {
        guard p > 0 && p <= 1 else { throw LoomError.invalidArgument("\(op): keep probability \(p) not in (0, 1]") }
    }

    /// Device kernels index with 32-bit integers (OpenCL only: the CPU backend indexes with `Int`).
    package static func fitsInt32(_ op: String, _ tensors: Tensor...) throws {
        try fitsInt32(op, tensors)
    }

    package static func fitsInt32(_ op: String, _ tensors: [Tensor]) throws {
        for t in tensors where t.offset + t.count > Int(Int32.max) {
            throw LoomError.unsupported("\(op): \(t.shape) at offset \(t.offset) exceeds 2^31 elements")
        }
    }

    /// Checks every id against `rule` and `bound`; the first bad one is `indexOutOfRange` (with
    /// the bound `rule.reportedBound(bound)`). The CPU backend's host-side id check; OpenCL kernels
    /// test the same rule on the device.
    package static func ids(_ op: String, _ ids: UnsafeBufferPointer<Int32>, _ rule: IDRule, bound: Int) throws {
        for id in ids where !rule.accepts(id, bound: bound) {
            throw LoomError.indexOutOfRange(op: op, index: Int(id), bound: rule.reportedBound(bound))
        }
    }
}

/// Which int32 values an id operand may hold. One definition for both backends: `Check.ids` on
/// the CPU, the same tests in the kernels (`Kernels/*.cl`, flagged through `loom_flag`).
package enum IDRule: Sendable {
    /// A row of a table or a class: `0 ..< bound` (gather, scatterAdd, sparse applyUpdate rows,
    /// sampled-softmax labels and samples, negative-sampling targets and negatives).
    case row
    /// A row, or any negative value for padding (embeddingBag ids and slots).
    case rowOrNegativePadding
    /// A class, or exactly −1 for padding (softmax cross-entropy labels).
    case classOrPadding
    /// A prefix length: `0 ... bound` (maskedSoftmax lengths).
    case length

    @inline(__always)
    package func accepts(_ id: Int32, bound: Int) -> Bool {
        switch self {
        case .row: return id >= 0 && Int(id) < bound
        case .rowOrNegativePadding: return Int(id) < bound
        case .classOrPadding: return id >= -1 && Int(id) < bound
        case .length: return id >= 0 && Int(id) <= bound
        }
    }

    /// The exclusive bound an error reports (`indexOutOfRange` reads "out of range 0..<bound").
    package func reportedBound(_ bound: Int) -> Int { self == .length ? bound + 1 : bound }
}

/// Sizes of a row-wise op over an `(R, C)` matrix.
package struct RowSizes: Equatable, Sendable {
    package var rows: Int
    package var columns: Int

    package init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
    }
}
