import Foundation

/// Named arrays plus JSON metadata, stored as a safetensors file: Loom's checkpoint format.
///
/// Layout ([safetensors](https://huggingface.co/docs/safetensors)): an 8-byte little-endian
/// header length N, N bytes of JSON (padded with spaces to a multiple of 8), then the raw
/// little-endian values. The header maps each name to `{"dtype": "F32"|"I32", "shape": [...],
/// "data_offsets": [begin, end]}` (offsets into the values, in file order, with no gaps), and
/// `__metadata__` to strings: `loom` holds the model's JSON metadata, `format` its kind, and
/// `loom.checksum` the FNV-1a 64 of the values (hex) and `loom.header-checksum` that of the header's
/// content (every entry's name, dtype, shape and offsets, and the other metadata), so that damage
/// anywhere is caught, not only damage that parsing rejects. Files from other tools (no checksums)
/// are read with the parsing checks alone. Any mismatch on reading is a `LoomError.invalidData` naming the
/// file; writes are atomic (`AtomicFileWriter`). Values are plain host arrays, so an archive
/// written by one backend loads on any other, and `safetensors.numpy.load_file` reads it.
public struct TensorArchive {
    public enum Payload: Equatable {
        case float32([Float])
        case int32([Int32])
    }

    public struct Entry: Equatable {
        public var shape: Shape
        public var payload: Payload
    }

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

    /// The most header JSON a reader accepts (safetensors' own limit).
    public static let maxHeaderBytes = 100 << 20

    /// One entry as the header describes it.
    private struct Span {
        var name: String, dtype: String, shape: Shape, begin: Int, end: Int
    }

    private static let headerChecksumKey = "loom.header-checksum"

    /// FNV-1a 64 of the header's content in a canonical form (entries by name, then metadata by
    /// key, without the header checksum itself), so that it does not depend on how the JSON was
    /// spaced or ordered.
    private static func headerChecksum(_ spans: [Span], _ info: [String: String]) -> UInt64 {
        var text = ""
        for s in spans.sorted(by: { $0.name < $1.name }) {
            text += "\(s.name)\t\(s.dtype)\t\(s.shape.dims)\t\(s.begin),\(s.end)\n"
        }
        for (key, value) in info.sorted(by: { $0.key < $1.key }) where key != headerChecksumKey {
            text += "\(key)\t\(value)\n"
        }
        var hasher = FNV1a()
        Array(text.utf8).withUnsafeBytes { hasher.combine($0) }
        return hasher.value
    }

    /// The safetensors dtype of a payload.
    private static func dtype(_ payload: Payload) -> String {
        switch payload { case .float32: return "F32"; case .int32: return "I32" }
    }

    /// The metadata's `format` field, if it is a JSON object with one.
    private var format: String? {
        (try? JSONSerialization.jsonObject(with: metadata)) .flatMap { ($0 as? [String: Any])?["format"] as? String }
    }

    public func write(to url: URL) throws {
        // Offsets and the checksum of the values first: the header names both.
        var hasher = FNV1a()
        var offset = 0
        var header: [String: Any] = [:]
        for name in names {
            let e = entries[name]!
            let bytes = e.shape.count * 4
            switch e.payload {
            case let .float32(v): v.withUnsafeBytes { hasher.combine($0) }
            case let .int32(v): v.withUnsafeBytes { hasher.combine($0) }
            }
            header[name] = ["dtype": Self.dtype(e.payload), "shape": e.shape.dims, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var info = ["loom": String(decoding: metadata, as: UTF8.self),
                    "loom.checksum": String(hasher.value, radix: 16)]
        if let format { info["format"] = format }
        var spans: [Span] = []
        offset = 0
        for name in names {
            let e = entries[name]!
            spans.append(Span(name: name, dtype: Self.dtype(e.payload), shape: e.shape, begin: offset, end: offset + e.shape.count * 4))
            offset += e.shape.count * 4
        }
        info[Self.headerChecksumKey] = String(Self.headerChecksum(spans, info), radix: 16)
        header["__metadata__"] = info
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))

        let out = try AtomicFileWriter(url)
        try withUnsafeBytes(of: UInt64(json.count).littleEndian) { try out.write($0) }
        try json.withUnsafeBytes { try out.write($0) }
        for name in names {
            switch entries[name]!.payload {
            case let .float32(v): try v.withUnsafeBytes { try out.write($0) }
            case let .int32(v): try v.withUnsafeBytes { try out.write($0) }
            }
        }
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
            if raw.count >= 8, Array(raw.prefix(8)) == Array("LOOMARCH".utf8) {
                throw LoomError.invalidData("\(file) is a checkpoint of an earlier Loom (format LOOMARCH 1, before "
                                                + "checkpoints became safetensors files); this Loom cannot read it: train again")
            }
            guard raw.count >= 8 else { throw corrupt(raw.isEmpty ? "the file is empty" : "only \(raw.count) bytes") }
            let headerLength = raw.loadUnaligned(as: UInt64.self).littleEndian
            guard headerLength <= UInt64(min(maxHeaderBytes, raw.count - 8)) else {
                throw corrupt("its header claims \(headerLength) bytes, the file has \(raw.count - 8) after the length "
                                  + "(truncated, or not a safetensors file)")
            }
            let values = UnsafeRawBufferPointer(rebasing: raw[(8 + Int(headerLength))...])
            let headerBytes = Data(raw[8..<(8 + Int(headerLength))])
            guard let header = (try? JSONSerialization.jsonObject(with: headerBytes)) as? [String: Any] else {
                throw corrupt("its header is not a JSON object (damaged, or not a safetensors file)")
            }
            let info = header["__metadata__"] as? [String: Any] ?? [:]
            guard info.values.allSatisfy({ $0 is String }) else { throw corrupt("__metadata__ values must be strings") }
            var archive = TensorArchive(metadata: Data(((info["loom"] as? String) ?? "{}").utf8))

            // Entries in data order; together they must cover the values exactly.
            var spans: [Span] = []
            for (name, value) in header where name != "__metadata__" {
                guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                      let dims = entry["shape"] as? [Any], let offsets = entry["data_offsets"] as? [Any], offsets.count == 2
                else { throw corrupt("entry '\(name)' lacks dtype, shape or data_offsets") }
                guard dtype == "F32" || dtype == "I32" else {
                    throw LoomError.unsupported("\(file): entry '\(name)' is \(dtype); Loom reads F32 and I32")
                }
                var shape: [Int] = []
                for d in dims {
                    guard let n = (d as? NSNumber)?.intValue, n >= 0, n < 1 << 40, dims.count <= 16 else {
                        throw corrupt("entry '\(name)' has a bad shape")
                    }
                    shape.append(n)
                }
                guard let begin = (offsets[0] as? NSNumber)?.intValue, let end = (offsets[1] as? NSNumber)?.intValue,
                      begin >= 0, end >= begin, end <= values.count else {
                    throw corrupt("entry '\(name)' has data offsets outside the file (truncated?)")
                }
                let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
                guard count < Int.max / 4, end - begin == count * 4 else {
                    throw corrupt("entry '\(name)': shape \(shape) needs \(count) values, its offsets hold \((end - begin) / 4)")
                }
                spans.append(Span(name: name, dtype: dtype, shape: Shape(shape), begin: begin, end: end))
            }
            spans.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
            var covered = 0
            for s in spans {
                guard s.begin == covered else { throw corrupt("entries overlap or leave gaps in the values") }
                covered = s.end
            }
            guard covered == values.count else {
                throw corrupt("\(values.count - covered) bytes after the last entry's values")
            }
            if let stored = info[headerChecksumKey] as? String {
                let strings = info.compactMapValues { $0 as? String }
                guard UInt64(stored, radix: 16) == headerChecksum(spans, strings) else {
                    throw corrupt("header checksum mismatch (its entries or metadata are damaged)")
                }
            }
            if let stored = info["loom.checksum"] as? String {
                var hasher = FNV1a()
                hasher.combine(values)
                guard UInt64(stored, radix: 16) == hasher.value else {
                    throw corrupt("checksum mismatch (truncated or damaged)")
                }
            }
            for s in spans {
                let bytes = UnsafeRawBufferPointer(rebasing: values[s.begin..<s.end])
                // Little-endian on disk, as on every machine Loom runs on.
                if s.dtype == "F32" {
                    var v = [Float](repeating: 0, count: s.shape.count)
                    v.withUnsafeMutableBytes { $0.copyMemory(from: bytes) }
                    archive.set(s.name, floats: v, shape: s.shape)
                } else {
                    var v = [Int32](repeating: 0, count: s.shape.count)
                    v.withUnsafeMutableBytes { $0.copyMemory(from: bytes) }
                    archive.set(s.name, ints: v, shape: s.shape)
                }
            }
            return archive
        }
    }
}

/// 64-bit FNV-1a, incremental: the checksum of the values in a checkpoint.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    init() {}
    mutating func combine(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        value = h
    }
}
