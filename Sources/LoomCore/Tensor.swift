/// Memory owned by one backend: host memory for the CPU backend, a `cl_mem` for OpenCL.
///
/// Storage is freed when the last tensor that views it goes away. Backends check `owner` so a
/// tensor from one backend is never handed to another.
public protocol DeviceStorage: AnyObject {
    /// Size in bytes.
    var byteCount: Int { get }
    /// Identity of the backend that allocated it.
    var owner: ObjectIdentifier { get }
}

/// A typed, shaped view of device memory: `storage` from `offset` (in elements) on, row-major.
///
/// Tensors are cheap values; slicing and reshaping make new views of the same storage and copy
/// nothing. Data moves between host and device only through `Backend.upload` / `download`.
public struct Tensor: CustomStringConvertible {
    public let storage: any DeviceStorage
    /// Offset of the first element, in elements.
    public let offset: Int
    public let shape: Shape
    public let dtype: DType

    public init(storage: any DeviceStorage, offset: Int = 0, shape: Shape, dtype: DType) {
        precondition(offset >= 0 && (offset + shape.count) * dtype.size <= storage.byteCount,
                     "view \(shape) at offset \(offset) exceeds its storage of \(storage.byteCount) bytes")
        self.storage = storage
        self.offset = offset
        self.shape = shape
        self.dtype = dtype
    }

    /// Number of elements.
    public var count: Int { shape.count }
    /// Bytes covered by this view.
    public var byteCount: Int { count * dtype.size }
    /// Byte offset of the first element in the storage.
    public var byteOffset: Int { offset * dtype.size }

    /// Rows `range` of the first axis: a `(range.count, …)` view.
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(shape.rank >= 1, "rows(_:) of a scalar")
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[0], "rows \(range) of \(shape)")
        let inner = shape.dims.dropFirst().reduce(1, *)
        return Tensor(storage: storage, offset: offset + range.lowerBound * inner,
                      shape: Shape([range.count] + shape.dims.dropFirst()), dtype: dtype)
    }

    /// Row `index` of the first axis, with that axis removed.
    public func row(_ index: Int) -> Tensor {
        let r = rows(index..<(index + 1))
        return r.reshaped(Shape(Array(shape.dims.dropFirst())))
    }

    /// The same elements under another shape of equal count.
    public func reshaped(_ newShape: Shape) -> Tensor {
        precondition(newShape.count == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(storage: storage, offset: offset, shape: newShape, dtype: dtype)
    }

    /// A rank-1 view of all elements.
    public func flattened() -> Tensor { reshaped([count]) }

    /// `count` elements from element `start` of the flattened view, as a rank-1 tensor.
    public func elements(_ start: Int, count n: Int) -> Tensor {
        precondition(start >= 0 && start + n <= count, "elements \(start)..<\(start + n) of \(count)")
        return Tensor(storage: storage, offset: offset + start, shape: [n], dtype: dtype)
    }

    public var description: String { "Tensor\(shape) \(dtype)" }
}
