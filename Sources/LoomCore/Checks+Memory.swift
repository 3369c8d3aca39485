// Operand checks of the memory ops (see `Check`).

extension Check {
    /// `upload` / `download`: exactly `tensor.byteCount` bytes on the host.
    package static func transfer(_ op: String, _ tensor: Tensor, bytes: Int) throws {
        guard bytes == tensor.byteCount else {
            throw LoomError.shapeMismatch(op: op, detail: "\(bytes) bytes for \(tensor.byteCount)")
        }
    }

    /// `copy`: `source` and `destination` of the same count and element type (shapes may differ).
    package static func copy(_ source: Tensor, to destination: Tensor) throws {
        try sameCount("copy", source, destination)
        guard source.dtype == destination.dtype else {
            throw LoomError.dtypeMismatch(op: "copy", expected: destination.dtype, got: source.dtype)
        }
    }
}
