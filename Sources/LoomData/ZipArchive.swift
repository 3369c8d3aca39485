#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import LoomCore
internal import ZIPFoundation

/// One file in a zip archive, as its central directory describes it.
package struct ZipEntry: Equatable, Sendable {
    package var name: String
    /// 0 stored, 8 deflated (the two Loom unpacks); anything else is reported on extraction.
    package var method: UInt16
    package var crc32: UInt32
    package var compressedSize: Int
    package var uncompressedSize: Int
    /// General-purpose flags (bit 0: encrypted).
    package var flags: UInt16
    /// Where the entry's local header starts.
    package var localHeaderOffset: Int

    package var isDirectory: Bool { name.hasSuffix("/") }
    package var isEncrypted: Bool { flags & 1 != 0 }
}

/// Reads zip archives: the central directory, and one entry at a time streamed to a file.
///
/// ```swift
/// let zip = try ZipArchive(url)
/// print(zip.entries.map(\.name))
/// try zip.extract("text8", to: destination)      // CRC-32 and size checked, written atomically
/// ```
///
/// Stored (method 0) and deflated (method 8) entries are supported, which is what `zip` and most
/// tools write, with or without ZIP64 records (files over 4 GiB, or written from a pipe). Split
/// archives, encryption and other methods are `LoomError.unsupported`; a damaged or truncated
/// file is `LoomError.invalidData` naming it.
///
/// Extraction refuses, before writing anything, an entry that declares more bytes than the
/// destination's file system has free, and stops as soon as an entry unpacks to more than it
/// declares (a zip bomb).
///
/// Inflating and CRC-32 are ZIPFoundation's (`Data.decompress`, `Data.crc32`); the directory is
/// read here. ZIPFoundation's own reader (`Archive`) is not used: in 0.9.20 on Linux its
/// `extract` reads on past an entry's data to the end of the file and then loops forever when the
/// deflate stream has not ended (a 108-byte file is enough), its listing stops silently at an
/// encrypted or damaged directory record, it does not notice split archives, and it keeps the
/// method, flags and offsets private. So the compressed bytes reach ZIPFoundation through a
/// provider that ends at the entry's end.
package final class ZipArchive {
    package let url: URL
    /// The entries in central-directory order.
    package let entries: [ZipEntry]
    private let file: ReadOnlyFile
    /// Where the central directory starts: entry data must end before it.
    private let centralDirectoryOffset: Int

    private static let endSignature: UInt32 = 0x0605_4b50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    private static let zip64EndSignature: UInt32 = 0x0606_4b50
    private static let centralSignature: UInt32 = 0x0201_4b50
    private static let localSignature: UInt32 = 0x0403_4b50
    private static let endRecordSize = 22
    private static let chunkSize = 256 * 1024

    package init(_ url: URL) throws {
        self.url = url
        file = try ReadOnlyFile(url)
        let path = url.path
        func corrupt(_ why: String) -> LoomError { .invalidData("\(path) is not a valid zip archive: \(why)") }

        // The end-of-central-directory record: 22 bytes plus a comment of up to 65,535, at the end.
        guard file.size >= Self.endRecordSize else {
            throw corrupt(file.size == 0 ? "the file is empty" : "only \(file.size) bytes (truncated download?)")
        }
        let tailCount = min(file.size, Self.endRecordSize + 0xFFFF)
        let tailStart = file.size - tailCount
        let tail = try file.bytes(at: tailStart, count: tailCount, truncated: corrupt("the file shrank while reading"))
        var found: Int?
        var i = tailCount - Self.endRecordSize
        while i >= 0 {
            if Self.u32(tail, i) == Self.endSignature,
               i + Self.endRecordSize + Int(Self.u16(tail, i + 20)) <= tailCount {
                found = i
                break
            }
            i -= 1
        }
        guard let end = found else {
            throw corrupt("no end-of-archive record (truncated download, or not a zip file)")
        }
        let endOffset = tailStart + end
        guard Self.u16(tail, end + 4) == 0, Self.u16(tail, end + 6) == 0,
              Self.u16(tail, end + 8) == Self.u16(tail, end + 10) else { throw Self.split(path) }
        var total = Int(Self.u16(tail, end + 10))
        var centralSize = Int(Self.u32(tail, end + 12))
        var centralOffset = Int(Self.u32(tail, end + 16))
        var directoryLimit = endOffset

        // ZIP64: a locator just before the record points to a larger record with 64-bit fields.
        if end >= 20, Self.u32(tail, end - 20) == Self.zip64LocatorSignature {
            guard Self.u32(tail, end - 16) == 0, Self.u32(tail, end - 4) <= 1 else { throw Self.split(path) }
            let recordOffset = Self.u64(tail, end - 12)
            guard endOffset >= 20 + 56, recordOffset <= UInt64(endOffset - 20 - 56) else {
                throw corrupt("its ZIP64 end record lies outside the file (truncated download?)")
            }
            let record = try file.bytes(at: Int(recordOffset), count: 56,
                                        truncated: corrupt("the file shrank while reading"))
            guard Self.u32(record, 0) == Self.zip64EndSignature else { throw corrupt("its ZIP64 end record is damaged") }
            guard Self.u32(record, 16) == 0, Self.u32(record, 20) == 0, Self.u64(record, 24) == Self.u64(record, 32) else {
                throw Self.split(path)
            }
            let size = UInt64(file.size)
            let count64 = Self.u64(record, 32), size64 = Self.u64(record, 40), offset64 = Self.u64(record, 48)
            // Each directory entry takes at least 46 bytes, so these bounds also keep the numbers small.
            guard size64 <= size, offset64 <= size, count64 <= size64 / 46 else {
                throw corrupt("its ZIP64 end record holds impossible sizes")
            }
            (total, centralSize, centralOffset) = (Int(count64), Int(size64), Int(offset64))
            directoryLimit = Int(recordOffset)
        } else if total == 0xFFFF || centralSize == 0xFFFF_FFFF || centralOffset == 0xFFFF_FFFF {
            throw corrupt("it announces ZIP64 records but has none")
        }
        guard centralOffset + centralSize <= directoryLimit else {
            throw corrupt("its directory lies outside the file (truncated download?)")
        }
        centralDirectoryOffset = centralOffset

        // The central directory: one 46-byte header plus name, extra field and comment per entry.
        let directory = try file.bytes(at: centralOffset, count: centralSize,
                                       truncated: corrupt("the file shrank while reading"))
        var list: [ZipEntry] = []
        list.reserveCapacity(min(total, centralSize / 46))
        var p = 0
        for index in 0..<total {
            guard p + 46 <= directory.count, Self.u32(directory, p) == Self.centralSignature else {
                throw corrupt("directory entry \(index + 1) of \(total) is damaged")
            }
            let nameLength = Int(Self.u16(directory, p + 28))
            let extraLength = Int(Self.u16(directory, p + 30))
            let commentLength = Int(Self.u16(directory, p + 32))
            let next = p + 46 + nameLength + extraLength + commentLength
            guard next <= directory.count else { throw corrupt("directory entry \(index + 1) of \(total) is cut short") }
            let name = String(decoding: directory[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            var uncompressed = UInt64(Self.u32(directory, p + 24))
            var compressed = UInt64(Self.u32(directory, p + 20))
            var offset = UInt64(Self.u32(directory, p + 42))
            if uncompressed == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
                // The real values sit in the ZIP64 extra field (id 1), in this order, only those saturated.
                let extra = Array(directory[(p + 46 + nameLength)..<(p + 46 + nameLength + extraLength)])
                var values = Self.zip64Values(in: extra)
                func take() throws -> UInt64 {
                    guard !values.isEmpty else { throw corrupt("entry '\(name)' lacks the ZIP64 sizes its header announces") }
                    return values.removeFirst()
                }
                if uncompressed == 0xFFFF_FFFF { uncompressed = try take() }
                if compressed == 0xFFFF_FFFF { compressed = try take() }
                if offset == 0xFFFF_FFFF { offset = try take() }
            }
            let size = UInt64(file.size)
            guard compressed <= size, offset <= size, uncompressed <= UInt64(Int.max) else {
                throw corrupt("entry '\(name)' has impossible sizes")
            }
            list.append(ZipEntry(name: name,
                                 method: Self.u16(directory, p + 10),
                                 crc32: Self.u32(directory, p + 16),
                                 compressedSize: Int(compressed),
                                 uncompressedSize: Int(uncompressed),
                                 flags: Self.u16(directory, p + 8),
                                 localHeaderOffset: Int(offset)))
            p = next
        }
        entries = list
    }

    /// The entry called `name`, if there is one.
    package func entry(named name: String) -> ZipEntry? { entries.first { $0.name == name } }

    /// Unpacks the entry called `name` to `destination`, streaming, and checks its CRC-32 and size
    /// against the archive's directory. Nothing appears under `destination` unless both match.
    ///
    /// - Parameter progress: called with the bytes unpacked so far and the entry's size.
    @discardableResult
    package func extract(_ name: String, to destination: URL,
                        progress: ((_ bytesSoFar: Int, _ totalBytes: Int) -> Void)? = nil) throws -> ZipEntry {
        guard let entry = entry(named: name) else {
            let names = entries.prefix(10).map { "'\($0.name)'" }.joined(separator: ", ")
            let more = entries.count > 10 ? ", …" : ""
            throw LoomError.invalidData("\(url.path) has no entry '\(name)' "
                                        + (entries.isEmpty ? "(the archive is empty)" : "(it holds \(names)\(more))"))
        }
        let path = url.path
        func corrupt(_ why: String) -> LoomError { .invalidData("\(path): entry '\(name)' is damaged: \(why)") }

        guard !entry.isDirectory else { throw LoomError.invalidArgument("\(path): '\(name)' is a folder, not a file") }
        guard !entry.isEncrypted else {
            throw LoomError.unsupported("\(path): entry '\(name)' is encrypted; Loom cannot unpack it")
        }
        guard entry.method == 0 || entry.method == 8 else {
            throw LoomError.unsupported("\(path): entry '\(name)' is compressed with \(Self.methodName(entry.method)), "
                                        + "but Loom unpacks only stored and deflated entries; unpack it with "
                                        + "`unzip` and use the file directly")
        }

        // The local header repeats the name and may carry a different extra field: skip both.
        let local = try file.bytes(at: entry.localHeaderOffset, count: 30,
                                   truncated: corrupt("its header lies past the end of the file"))
        guard Self.u32(local, 0) == Self.localSignature else { throw corrupt("its local header is missing") }
        let dataStart = entry.localHeaderOffset + 30 + Int(Self.u16(local, 26)) + Int(Self.u16(local, 28))
        guard dataStart + entry.compressedSize <= centralDirectoryOffset else {
            throw corrupt("its data runs past the end of the archive (truncated download?)")
        }
        if entry.method == 0 && entry.compressedSize != entry.uncompressedSize {
            throw corrupt("stored, yet its two sizes differ")
        }

        try Self.checkFreeSpace(for: entry.uncompressedSize, at: destination,
                                what: "\(path): entry '\(name)'")

        let out = try AtomicFileWriter(destination)
        var crc: UInt32 = 0
        var produced = 0
        progress?(0, entry.uncompressedSize)
        let emit = { (chunk: Data) throws in
            guard !chunk.isEmpty else { return }
            produced += chunk.count
            guard produced <= entry.uncompressedSize else {
                throw corrupt("it unpacks to more than the \(entry.uncompressedSize) bytes the archive states "
                              + "(a zip bomb?); stopped there")
            }
            crc = chunk.crc32(checksum: crc)
            try chunk.withUnsafeBytes { try out.write($0) }
            progress?(produced, entry.uncompressedSize)
        }
        let data = EntryData(file, from: dataStart, count: entry.compressedSize,
                             truncated: corrupt("the file ends inside it"))
        if entry.method == 0 {
            while let chunk = try data.next(atMost: Self.chunkSize) { try emit(chunk) }
        } else {
            do {
                _ = try Data.decompress(size: Int64(entry.compressedSize), bufferSize: Self.chunkSize,
                                        skipCRC32: true,
                                        provider: { _, size in try data.padded(to: size, ended: corrupt(
                                            "its compressed data ends before the deflate stream does")) },
                                        consumer: emit)
            } catch let error as LoomError {
                throw error
            } catch {
                throw corrupt("invalid compressed data (\(error))")
            }
        }
        guard produced == entry.uncompressedSize else {
            throw corrupt("it unpacks to \(produced) bytes, the archive states \(entry.uncompressedSize)")
        }
        guard crc == entry.crc32 else {
            throw corrupt("CRC-32 mismatch (computed \(Self.hex(crc)), the archive states \(Self.hex(entry.crc32)))")
        }
        try out.commit()
        return entry
    }

    // MARK: Space

    /// Throws when `count` bytes would not fit in the free space of the file system `destination`
    /// is to be written on (its nearest existing folder is asked, through `statvfs`).
    static func checkFreeSpace(for count: Int, at destination: URL, what: String) throws {
        var folder = destination.standardizedFileURL.deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: folder.path) && folder.path != "/" {
            folder = folder.deletingLastPathComponent()
        }
        var info = statvfs()
        guard statvfs(folder.path, &info) == 0 else {
            throw LoomError.io("cannot tell how much space is free in \(folder.path) "
                               + "(\(String(cString: strerror(errno)))), so \(what) is not unpacked")
        }
        let (product, overflow) = UInt64(info.f_bavail).multipliedReportingOverflow(by: UInt64(info.f_frsize))
        let free = overflow ? UInt64.max : product
        guard UInt64(count) <= free else {
            throw LoomError.io("\(what) unpacks to \(CorpusCatalog.bytes(count)), more than the "
                               + "\(CorpusCatalog.bytes(Int(clamping: free))) free on the file system of "
                               + "\(folder.path); nothing was written (free some space, or unpack it elsewhere)")
        }
    }

    // MARK: Helpers

    private static func split(_ path: String) -> LoomError {
        .unsupported("\(path) is one part of a split (multi-volume) zip archive, which Loom does not read; "
                     + "join the parts, or unpack them with `unzip`")
    }

    /// The 64-bit values of a ZIP64 extra field (header id 1) in an entry's extra data.
    private static func zip64Values(in extra: [UInt8]) -> [UInt64] {
        var p = 0
        while p + 4 <= extra.count {
            let id = u16(extra, p), size = Int(u16(extra, p + 2))
            guard p + 4 + size <= extra.count else { return [] }
            if id == 1 {
                return stride(from: p + 4, to: p + 4 + size - 7, by: 8).map { u64(extra, $0) }
            }
            p += 4 + size
        }
        return []
    }

    private static func methodName(_ method: UInt16) -> String {
        switch method {
        case 9: return "Deflate64 (method 9)"
        case 12: return "bzip2 (method 12)"
        case 14: return "LZMA (method 14)"
        case 93: return "Zstandard (method 93)"
        case 95: return "xz (method 95)"
        default: return "method \(method)"
        }
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }

    private static func u16(_ b: [UInt8], _ at: Int) -> UInt16 {
        UInt16(b[at]) | UInt16(b[at + 1]) << 8
    }

    private static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }

    private static func u64(_ b: [UInt8], _ at: Int) -> UInt64 {
        UInt64(u32(b, at)) | UInt64(u32(b, at + 4)) << 32
    }
}

/// An entry's compressed bytes, read in pieces that never go past its end.
private final class EntryData {
    private let file: ReadOnlyFile
    private var offset: Int
    private var remaining: Int
    private let truncated: () -> LoomError

    init(_ file: ReadOnlyFile, from offset: Int, count: Int, truncated: @escaping @autoclosure () -> LoomError) {
        self.file = file
        self.offset = offset
        self.remaining = count
        self.truncated = truncated
    }

    /// Up to `limit` bytes; nil once all are read.
    func next(atMost limit: Int) throws -> Data? {
        let n = min(limit, remaining)
        guard n > 0 else { return nil }
        var chunk = Data(count: n)
        try chunk.withUnsafeMutableBytes { try file.read(at: offset, into: $0, truncated: truncated()) }
        offset += n
        remaining -= n
        return chunk
    }

    /// Exactly `size` bytes: the next ones of the entry, then zeros; `ended` once none are left.
    ///
    /// ZIPFoundation's inflate on Linux hands zlib `size` bytes whatever the provider returned, so
    /// a shorter piece would let zlib read past it. A stream that runs on into the zeros fails
    /// there, or asks for more and gets `ended`; whatever it made of them fails the size or CRC
    /// check. Either way nothing past the entry is read, and the loop ends.
    func padded(to size: Int, ended: @autoclosure () -> LoomError) throws -> Data {
        let n = min(size, remaining)
        guard n > 0 else { throw ended() }
        var chunk = Data(count: size)
        try chunk.withUnsafeMutableBytes { raw in
            try file.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<n]), truncated: truncated())
        }
        offset += n
        remaining -= n
        return chunk
    }
}
