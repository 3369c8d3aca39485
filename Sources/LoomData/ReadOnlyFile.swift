#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import LoomCore

/// A file opened for positioned reads (`pread`), closed when released. Reads past the end are
/// reported, not padded, so a truncated file shows up as an error.
final class ReadOnlyFile {
    let url: URL
    /// Size in bytes when opened.
    let size: Int
    private let fd: Int32

    init(_ url: URL) throws {
        self.url = url
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw LoomError.io("cannot read \(url.path): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            _ = close(descriptor)
            throw LoomError.io("cannot read \(url.path): \(reason)")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            _ = close(descriptor)
            throw LoomError.io("cannot read \(url.path): not a regular file")
        }
        fd = descriptor
        size = Int(info.st_size)
    }

    deinit { _ = close(fd) }

    /// Fills `buffer` from `offset`; fewer bytes in the file is `truncated`'s error.
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer, truncated: @autoclosure () -> LoomError) throws {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let n = pread(fd, base + done, buffer.count - done, off_t(offset + done))
            if n > 0 {
                done += n
            } else if n == 0 {
                throw truncated()
            } else if errno != EINTR {
                throw LoomError.io("reading \(url.path) failed: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// `count` bytes from `offset`.
    func bytes(at offset: Int, count: Int, truncated: @autoclosure () -> LoomError) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try read(at: offset, into: $0, truncated: truncated()) }
        return out
    }
}
