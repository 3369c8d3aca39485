#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import LoomCore

/// A corpus as vocabulary ids: in memory, or a read-only memory map of an id file in the cache
/// (`Corpus.load(_:options:cache:progress:)`), so that a corpus larger than memory costs only the
/// pages a run touches, and pages the kernel may drop again (they are clean and file-backed).
/// Slices share the storage: a rank of a job maps only its shard's pages.
public struct IDStream: RandomAccessCollection, Sendable, Equatable {
    private let storage: IDStorage
    /// First id of this stream in the storage.
    private let offset: Int
    public let count: Int

    /// The ids of an array (copied once into storage the stream owns).
    public init(_ ids: [Int32]) {
        storage = IDStorage(copying: ids)
        offset = 0
        count = ids.count
    }

    /// `count` little-endian int32 ids from byte `byteOffset` of a mapped file.
    init(mapping file: MappedFile, byteOffset: Int, count: Int) {
        storage = IDStorage(file, byteOffset: byteOffset, count: count)
        offset = 0
        self.count = count
    }

    private init(storage: IDStorage, offset: Int, count: Int) {
        self.storage = storage
        self.offset = offset
        self.count = count
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    @inline(__always)
    public subscript(position: Int) -> Int32 {
        precondition(position >= 0 && position < count, "id position \(position) outside 0..<\(count)")
        return storage.base[offset + position]
    }

    /// The ids `range` (positions of this stream), sharing its storage.
    public func slice(_ range: Range<Int>) -> IDStream {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "slice \(range) outside 0..<\(count)")
        return IDStream(storage: storage, offset: offset + range.lowerBound, count: range.count)
    }

    /// Calls `body` with the ids as one contiguous buffer (no copy).
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Int32>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(UnsafeBufferPointer(start: storage.base + offset, count: count)) }
    }

    /// Tells the kernel that the pages of `range` will not be needed soon (`MADV_DONTNEED`; a
    /// mapped stream only): a pass over a corpus larger than memory then keeps only the pages of
    /// the window in use resident. The ids stay readable (read again from the file).
    public func releasePages(_ range: Range<Int>) {
        guard let file = storage.file, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = UnsafeRawPointer(storage.base + offset + range.lowerBound) - UnsafeRawPointer(file.base)
        let end = UnsafeRawPointer(storage.base + offset + range.upperBound) - UnsafeRawPointer(file.base)
        // Whole pages inside the range only.
        let lo = (start + page - 1) / page * page, hi = end / page * page
        guard hi > lo else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: file.base + lo), hi - lo, MADV_DONTNEED)
    }

    /// Whether the ids are a memory map of a file rather than memory of their own.
    public var isMapped: Bool { storage.file != nil }

    public static func == (a: IDStream, b: IDStream) -> Bool { a.elementsEqual(b) }
}

extension IDStream: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: Int32...) { self.init(elements) }
}

/// The memory behind an `IDStream`: an allocation of its own, or a range of a mapped file.
final class IDStorage: @unchecked Sendable {
    let base: UnsafePointer<Int32>
    let file: MappedFile?
    private let allocated: UnsafeMutablePointer<Int32>?

    init(copying ids: [Int32]) {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, ids.count))
        ids.withUnsafeBufferPointer { if let b = $0.baseAddress { p.initialize(from: b, count: ids.count) } }
        allocated = p
        base = UnsafePointer(p)
        file = nil
    }

    init(_ file: MappedFile, byteOffset: Int, count: Int) {
        precondition(byteOffset % 4 == 0 && byteOffset + count * 4 <= file.size, "ids outside the mapped file")
        self.file = file
        allocated = nil
        base = (file.base + byteOffset).assumingMemoryBound(to: Int32.self)
    }

    deinit { allocated?.deallocate() }
}

/// A whole file mapped read-only, unmapped when the last reference goes.
final class MappedFile: @unchecked Sendable {
    let url: URL
    let base: UnsafeRawPointer
    let size: Int

    init(_ url: URL) throws {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LoomError.io("cannot open \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw LoomError.io("cannot read \(url.path): \(String(cString: strerror(errno)))") }
        size = Int(info.st_size)
        guard size > 0, let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw LoomError.io("cannot map \(url.path): \(size == 0 ? "the file is empty" : String(cString: strerror(errno)))")
        }
        self.url = url
        base = UnsafeRawPointer(p)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }
}
