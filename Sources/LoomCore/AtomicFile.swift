import Foundation

/// Writes a file so that an interrupted write never destroys the last good copy: the bytes go to a
/// temporary file beside the target (`.NAME.tmp-PID-RANDOM`), are flushed to disk, then renamed
/// over it in one step, and the folder is synced so the rename survives a power loss. Temporary
/// files that killed writers of the same target left behind (their process is gone) are removed
/// by the next writer.
///
/// ```swift
/// let out = try AtomicFileWriter(url)
/// try out.write("header\n")
/// try out.write(bytes)
/// try out.commit()            // until now the old file was untouched
/// ```
public final class AtomicFileWriter {
    public let url: URL
    private let temporaryURL: URL
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var committed = false
    private static let bufferLimit = 1 << 20

    public init(_ url: URL) throws {
        self.url = url
        let dir = url.deletingLastPathComponent()
        temporaryURL = dir.appendingPathComponent(Self.temporaryPrefix(url) + "\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw LoomError.io("cannot create folder \(dir.path): \(error.localizedDescription)")
        }
        Self.removeStaleTemporaries(of: url)
        guard FileManager.default.createFile(atPath: temporaryURL.path, contents: nil) else {
            throw LoomError.io("cannot write \(url.path): permission denied or no such folder")
        }
        do {
            handle = try FileHandle(forWritingTo: temporaryURL)
        } catch {
            throw LoomError.io("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    deinit {
        if !committed {
            try? handle.close()
            try? FileManager.default.removeItem(at: temporaryURL)
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.bufferLimit { try flush() }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ text: String) throws {
        var t = text
        try t.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Little-endian bytes of a fixed-width integer.
    public func write<T: FixedWidthInteger>(integer value: T) throws {
        try withUnsafeBytes(of: value.littleEndian) { try write($0) }
    }

    /// Little-endian float32 values.
    public func write(floats: [Float]) throws {
        try floats.withUnsafeBytes { try write($0) }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        do {
            try handle.write(contentsOf: buffer)
        } catch {
            throw LoomError.io("writing \(url.path) failed: \(error.localizedDescription)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Replaces bytes already written at `offset` (a header known only at the end); the file
    /// keeps its length, and writing goes on at its end.
    public func overwrite(_ bytes: [UInt8], at offset: Int) throws {
        try flush()
        do {
            let end = try handle.offset()
            guard UInt64(offset + bytes.count) <= end else {
                throw LoomError.invalidArgument("overwrite past the end of \(url.path)")
            }
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: bytes)
            try handle.seek(toOffset: end)
        } catch let error as LoomError {
            throw error
        } catch {
            throw LoomError.io("writing \(url.path) failed: \(error.localizedDescription)")
        }
    }

    /// Flushes, syncs and renames the temporary file over the target.
    public func commit() throws {
        try flush()
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw LoomError.io("writing \(url.path) failed: \(error.localizedDescription)")
        }
        guard rename(temporaryURL.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporaryURL)
            throw LoomError.io("cannot replace \(url.path): \(reason)")
        }
        committed = true
        Self.syncFolder(of: url)
    }

    static func temporaryPrefix(_ url: URL) -> String { ".\(url.lastPathComponent).tmp-" }

    /// Deletes `.NAME.tmp-PID-…` files beside `url` whose writing process no longer exists.
    static func removeStaleTemporaries(of url: URL) {
        let dir = url.deletingLastPathComponent(), prefix = temporaryPrefix(url)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0 else { continue }
            // kill(pid, 0) fails with ESRCH when no such process exists (EPERM: it exists, not ours).
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(at: dir.appendingPathComponent(name))
            }
        }
    }

    /// fsync of the folder, so that the rename itself is on disk (best effort: some file
    /// systems refuse to sync a folder, which then has nothing to sync).
    static func syncFolder(of url: URL) {
        let fd = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// Writes `data` to `url` atomically.
    public static func write(_ data: Data, to url: URL) throws {
        let w = try AtomicFileWriter(url)
        try data.withUnsafeBytes { try w.write($0) }
        try w.commit()
    }
}
