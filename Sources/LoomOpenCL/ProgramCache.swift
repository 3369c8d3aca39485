import Foundation
import LoomCore

/// Compiled OpenCL programs on disk, so a run does not pay the compiler again.
///
/// An entry is keyed by platform, device, device and driver versions, build options and a hash of
/// the source (a driver update or an edited kernel gives a new key). Each file holds its full key
/// and a checksum of the binary; a file that does not match — truncated, corrupt, or another key
/// with the same hash — is deleted and the program rebuilt from source.
///
/// Folder: `$LOOM_CACHE_DIR/kernels`, else `~/.cache/loom/kernels`.
struct ProgramCache {
    let directory: URL

    static var defaultDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["LOOM_CACHE_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir).appendingPathComponent("kernels")
        }
        return FileManager.default.homeDirectoryForCurrentUser
            .appendingPathComponent(".cache/loom/kernels")
    }

    static let magic = Array("LOOMCLB1".utf8)

    /// The cache key of a program.
    static func key(device: OpenCLDeviceInfo, options: String, source: String) -> String {
        [device.platformName, device.platformVersion, device.name, device.deviceVersion, device.driverVersion,
         options, String(fnv1a(Array(source.utf8)), radix: 16)].joined(separator: "\n")
    }

    func url(for key: String) -> URL {
        directory.appendingPathComponent(String(Self.fnv1a(Array(key.utf8)), radix: 16) + ".clbin")
    }

    /// The binary stored under `key`, or nil (missing or unusable; an unusable file is removed).
    func load(key: String) -> [UInt8]? {
        let file = url(for: key)
        guard let data = try? Data(contentsOf: file) else { return nil }
        if let binary = Self.decode([UInt8](data), key: key) { return binary }
        try? FileManager.default.removeItem(at: file)
        return nil
    }

    /// Stores `binary` under `key` atomically (temporary file, then rename). Failures are ignored:
    /// the cache only saves time.
    func store(key: String, binary: [UInt8]) {
        guard !binary.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let file = url(for: key)
            let tmp = file.appendingPathExtension("tmp.\(ProcessInfo.processInfo.processIdentifier)")
            try Data(Self.encode(binary, key: key)).write(to: tmp)
            if rename(tmp.path, file.path) != 0 { try? FileManager.default.removeItem(at: tmp) }
        } catch {}
    }

    /// Removes the entry for `key` (after the driver rejected its binary).
    func remove(key: String) { try? FileManager.default.removeItem(at: url(for: key)) }

    // Layout: magic, key length (u32), key, binary length (u64), binary checksum (u64), binary.
    static func encode(_ binary: [UInt8], key: String) -> [UInt8] {
        let k = Array(key.utf8)
        var out = magic
        out += withUnsafeBytes(of: UInt32(k.count).littleEndian, Array.init)
        out += k
        out += withUnsafeBytes(of: UInt64(binary.count).littleEndian, Array.init)
        out += withUnsafeBytes(of: fnv1a(binary).littleEndian, Array.init)
        out += binary
        return out
    }

    static func decode(_ bytes: [UInt8], key: String) -> [UInt8]? {
        var reader = ByteReader(bytes)
        guard reader.take(magic.count) == magic,
              let keyLength = reader.u32(), let k = reader.take(Int(keyLength)), k == Array(key.utf8),
              let length = reader.u64(), let sum = reader.u64(),
              let binary = reader.take(Int(length)), reader.atEnd, fnv1a(binary) == sum
        else { return nil }
        return binary
    }

    /// 64-bit FNV-1a.
    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}

private struct ByteReader {
    let bytes: [UInt8]
    var position = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { position == bytes.count }

    mutating func take(_ n: Int) -> [UInt8]? {
        guard n >= 0, position + n <= bytes.count else { return nil }
        defer { position += n }
        return Array(bytes[position..<(position + n)])
    }

    mutating func u32() -> UInt32? {
        take(4).map { $0.enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) } }
    }

    mutating func u64() -> UInt64? {
        take(8).map { $0.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) } }
    }
}
