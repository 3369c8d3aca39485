/// The element types a tensor can hold.
///
/// Loom computes in `float32`; `int32` holds ids (words, characters, sampled classes).
public enum DType: String, Sendable, CaseIterable {
    case float32
    case int32

    /// Bytes per element.
    public var size: Int { 4 }
}

/// The extent of a tensor along each axis, outermost first (row-major).
///
/// `Shape([B, T, C])` is `B` blocks of `T` rows of `C` contiguous elements.
public struct Shape: Hashable, Sendable, ExpressibleByArrayLiteral, CustomStringConvertible {
    public let dims: [Int]

    public init(_ dims: [Int]) {
        precondition(dims.allSatisfy { $0 >= 0 }, "negative dimension in \(dims)")
        self.dims = dims
    }

    public init(arrayLiteral elements: Int...) { self.init(elements) }

    /// Number of axes.
    public var rank: Int { dims.count }

    /// Number of elements (1 for a scalar, 0 when any axis is empty).
    public var count: Int { dims.reduce(1, *) }

    public subscript(axis: Int) -> Int { dims[axis] }

    /// Rows of the matrix view: everything but the last axis, flattened.
    public var rows: Int { rank == 0 ? 1 : dims.dropLast().reduce(1, *) }

    /// Columns of the matrix view: the last axis.
    public var columns: Int { rank == 0 ? 1 : dims[rank - 1] }

    public var description: String { "(" + dims.map(String.init).joined(separator: ", ") + ")" }
}
