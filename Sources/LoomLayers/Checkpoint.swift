import Foundation
import LoomCore

/// A trained model on disk: its parameter store's tensors by name plus JSON metadata whose
/// `format` field says which kind of model it is, so that loading a checkpoint of another kind
/// is a named error rather than a confusing mismatch.
public enum ModelCheckpoint {
    /// Writes `metadata` and every parameter of `store` (and its optimiser state) to `url`, atomically.
    public static func write<M: Encodable>(_ metadata: M, store: ParameterStore, to url: URL) throws {
        var archive = try TensorArchive(metadata: metadata)
        try store.save(into: &archive)
        try archive.write(to: url)
    }

    /// Reads `url`, checks that its metadata's `format` is `format` (else: "… is a X file, not
    /// `what`"), and decodes the metadata.
    public static func read<M: Decodable>(_ type: M.Type, format: String, what: String,
                                          from url: URL) throws -> (metadata: M, archive: TensorArchive) {
        let archive = try TensorArchive.read(from: url)
        let kind = try archive.decodeMetadata(CheckpointKind.self, file: url.path)
        guard kind.format == format else {
            throw LoomError.invalidData("\(url.path) is a \(kind.format ?? "unknown") file, not \(what)")
        }
        return (try archive.decodeMetadata(M.self, file: url.path), archive)
    }
}

/// The one field every model's checkpoint metadata has.
private struct CheckpointKind: Codable { var format: String? }
