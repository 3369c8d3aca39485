import Foundation

/// A file of named arrays plus JSON metadata: Loom's checkpoint format.
///
/// Layout (little-endian): `LOOMARCH`, version (u32), metadata length (u64) and JSON bytes, entry
/// count (u32), then per entry: name length (u32), name, dtype (u8: 0 float32, 1 int32), rank
/// (u32), dims (u64 each), element bytes; last, an FNV-1a 64 checksum of everything before it.
/// Any mismatch on reading — magic, version, sizes, checksum — is a `LoomError.invalidData` naming
/// the file; writes are atomic (`AtomicFileWriter`). Values are plain host arrays, so an archive
/// written by one backend loads on any other.
public struct TensorArchive {
    public enum Payload: Equatable {
        case float32([Float])
        case int32([Int32])
    }

    public struct Entry: Equatable {
        public var shape: Shape
        public var payload: Payload
    }

    public static let magic = Array("LOOMARCH".utf8)
    public static let version: UInt32 = 1

    /// Free-form JSON (a model's configuration, counters, …).
    public var metadata: Data
    public private(set) var entries: [String: Entry] = [:]
    /// Entry names in insertion order (the file order).
    public private(set) var names: [String] = []

    public init(metadata: Data = Data("{}".utf8)) { self.metadata = metadata }

    /// Encodes `value` as the metadata.
    public init<T: Encodable>(metadata value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        self.init(metadata: try encoder.encode(value))
    }

    /// Decodes the metadata as `T`; a mismatch is `invalidData`.
    public func decodeMetadata<T: Decodable>(_ type: T.Type, file: String = "archive") throws -> T {
        do {
            return try JSONDecoder().decode(type, from: metadata)
        } catch {
            throw LoomError.invalidData("\(file): unexpected checkpoint metadata (\(error))")
        }
    }

    public mutating func set(_ name: String, floats: [Float], shape: Shape? = nil) {
        put(name, Entry(shape: shape ?? [floats.count], payload: .float32(floats)))
    }

    public mutating func set(_ name: String, ints: [Int32], shape: Shape? = nil) {
        put(name, Entry(shape: shape ?? [ints.count], payload: .int32(ints)))
    }

    /// Copies `tensor` from `backend` into the archive.
    public mutating func set(_ name: String, tensor: Tensor, from backend: any Backend) throws {
        switch tensor.dtype {
        case .float32: set(name, floats: try backend.floats(tensor), shape: tensor.shape)
        case .int32: set(name, ints: try backend.ints(tensor), shape: tensor.shape)
        }
    }

    private mutating func put(_ name: String, _ entry: Entry) {
        precondition(entry.shape.count == {
            switch entry.payload { case let .float32(v): return v.count; case let .int32(v): return v.count }
        }(), "archive entry \(name): shape \(entry.shape) does not match its values")
        if entries[name] == nil { names.append(name) }
        entries[name] = entry
    }

    public func floats(_ name: String) throws -> [Float] {
        guard let e = entries[name] else { throw LoomError.invalidData("checkpoint has no '\(name)'") }
        guard case let .float32(v) = e.payload else { throw LoomError.invalidData("checkpoint '\(name)' is not float32") }
        return v
    }

    public func ints(_ name: String) throws -> [Int32] {
        guard let e = entries[name] else { throw LoomError.invalidData("checkpoint has no '\(name)'") }
        guard case let .int32(v) = e.payload else { throw LoomError.invalidData("checkpoint '\(name)' is not int32") }
        return v
    }

    public func shape(_ name: String) throws -> Shape {
        guard let e = entries[name] else { throw LoomError.invalidData("checkpoint has no '\(name)'") }
        return e.shape
    }

    /// Uploads entry `name` into `tensor`, which must have the same shape and type.
    public func load(_ name: String, into tensor: Tensor, on backend: any Backend) throws {
        let s = try shape(name)
        guard s == tensor.shape else {
            throw LoomError.invalidData("checkpoint '\(name)' has shape \(s), the model expects \(tensor.shape)")
        }
        switch tensor.dtype {
        case .float32: try backend.upload(try floats(name), to: tensor)
        case .int32: try backend.upload(try ints(name), to: tensor)
        }
    }

    // MARK: Files

    public func write(to url: URL) throws {
        var hasher = FNV1a()
        let out = try AtomicFileWriter(url)
        func emit(_ bytes: UnsafeRawBufferPointer) throws {
            hasher.combine(bytes)
            try out.write(bytes)
        }
        func emit<T: FixedWidthInteger>(_ v: T) throws { try withUnsafeBytes(of: v.littleEndian) { try emit($0) } }
        try Self.magic.withUnsafeBytes { try emit($0) }
        try emit(Self.version)
        try emit(UInt64(metadata.count))
        try metadata.withUnsafeBytes { try emit($0) }
        try emit(UInt32(names.count))
        for name in names {
            let e = entries[name]!
            let n = Array(name.utf8)
            try emit(UInt32(n.count))
            try n.withUnsafeBytes { try emit($0) }
            switch e.payload {
            case .float32: try emit(UInt8(0))
            case .int32: try emit(UInt8(1))
            }
            try emit(UInt32(e.shape.rank))
            for d in e.shape.dims { try emit(UInt64(d)) }
            switch e.payload {
            case let .float32(v): try v.withUnsafeBytes { try emit($0) }
            case let .int32(v): try v.withUnsafeBytes { try emit($0) }
            }
        }
        try withUnsafeBytes(of: hasher.value.littleEndian) { try out.write($0) }
        try out.commit()
    }

    public static func read(from url: URL) throws -> TensorArchive {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw LoomError.io("cannot read \(url.path): \(error.localizedDescription)")
        }
        let file = url.path
        func corrupt(_ why: String) -> LoomError { .invalidData("\(file) is not a valid Loom checkpoint: \(why)") }
        return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> TensorArchive in
            guard raw.count >= magic.count + 8, Array(raw.prefix(magic.count)) == magic else {
                throw corrupt("wrong magic (not a checkpoint, or written by something else)")
            }
            var hasher = FNV1a()
            hasher.combine(UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 8)]))
            let stored = raw.loadUnaligned(fromByteOffset: raw.count - 8, as: UInt64.self).littleEndian
            guard stored == hasher.value else { throw corrupt("checksum mismatch (truncated or damaged)") }
            var r = Reader(raw: UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 8)]), position: magic.count)
            guard let version: UInt32 = r.integer(), version == Self.version else {
                throw corrupt("unsupported version")
            }
            guard let metaLength: UInt64 = r.integer(), let meta = r.bytes(Int(metaLength)),
                  let count: UInt32 = r.integer() else { throw corrupt("truncated header") }
            var archive = TensorArchive(metadata: Data(meta))
            for _ in 0..<count {
                guard let nameLength: UInt32 = r.integer(), let nameBytes = r.bytes(Int(nameLength)),
                      let dtype: UInt8 = r.integer(), dtype <= 1, let rank: UInt32 = r.integer(), rank <= 16
                else { throw corrupt("truncated entry") }
                var dims: [Int] = []
                for _ in 0..<rank {
                    guard let d: UInt64 = r.integer(), d < 1 << 40 else { throw corrupt("bad dimensions") }
                    dims.append(Int(d))
                }
                let shape = Shape(dims)
                guard let bytes = r.bytes(shape.count * 4) else { throw corrupt("truncated values") }
                let name = String(decoding: nameBytes, as: UTF8.self)
                if dtype == 0 {
                    archive.set(name, floats: bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }, shape: shape)
                } else {
                    archive.set(name, ints: bytes.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }, shape: shape)
                }
            }
            guard r.position == r.raw.count else { throw corrupt("trailing bytes") }
            return archive
        }
    }

    private struct Reader {
        let raw: UnsafeRawBufferPointer
        var position: Int

        mutating func integer<T: FixedWidthInteger>() -> T? {
            guard position + MemoryLayout<T>.size <= raw.count else { return nil }
            defer { position += MemoryLayout<T>.size }
            return T(littleEndian: raw.loadUnaligned(fromByteOffset: position, as: T.self))
        }

        mutating func bytes(_ n: Int) -> [UInt8]? {
            guard n >= 0, position + n <= raw.count else { return nil }
            defer { position += n }
            return Array(raw[position..<(position + n)])
        }
    }
}

/// 64-bit FNV-1a, incremental.
public struct FNV1a {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    public init() {}
    public mutating func combine(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        value = h
    }
}
