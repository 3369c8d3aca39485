import Foundation
import LoomCore
import SwiftProtobuf

/// Writes a run's reports as TensorBoard scalars: `events.out.tfevents.<time>.<host>.<pid>.loom`
/// in a folder, one file per run (a resumed run adds a file; TensorBoard reads them together).
///
/// Each record is TFRecord-framed — `u64 length`, `u32 masked CRC-32C of the length`, the bytes
/// of one `tensorflow.Event`, `u32 masked CRC-32C of the bytes` — and flushed, so a crashed run
/// keeps its curves. Tags are the run-log keys (`loss`, `perplexity`, `lr`, `words_per_sec`,
/// `valid_bleu`, …).
///
/// ```swift
/// trainer.log = try TensorBoardWriter(folder: URL(fileURLWithPath: "runs/lstm"))
/// ```
public final class TensorBoardWriter: RunRecorder {
    public let url: URL
    private let handle: FileHandle

    public init(folder: URL) throws {
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw LoomError.io("cannot create the TensorBoard folder \(folder.path): \(error.localizedDescription)")
        }
        let now = Date().timeIntervalSince1970
        let host = ProcessInfo.processInfo.hostName.replacingOccurrences(of: "/", with: "_")
        url = folder.appendingPathComponent("events.out.tfevents.\(Int(now)).\(host).\(getpid()).loom")
        guard fm.createFile(atPath: url.path, contents: nil), let h = try? FileHandle(forWritingTo: url) else {
            throw LoomError.io("cannot write \(url.path)")
        }
        handle = h
        var first = TensorFlowEvent()
        first.wallTime = now
        first.fileVersion = "brain.Event:2"
        try write(first)
    }

    deinit { try? handle.close() }

    public func record(_ record: RunRecord) throws {
        let scalars = record.scalars.filter { $0.key != "elapsed" && $0.key != "words" }
        guard !scalars.isEmpty else { return }
        var event = TensorFlowEvent()
        event.wallTime = Date().timeIntervalSince1970
        event.step = Int64(record.step)
        var summary = TensorFlowSummary()
        summary.value = scalars.map { key, value in
            var v = TensorFlowSummary.Value()
            v.tag = key
            v.simpleValue = Float(value)
            return v
        }
        event.summary = summary
        try write(event)
    }

    private func write(_ event: TensorFlowEvent) throws {
        let bytes: Data = try event.serializedBytes()
        do {
            try handle.write(contentsOf: TFRecord.frame(bytes))
        } catch {
            throw LoomError.io("writing \(url.path) failed: \(error.localizedDescription)")
        }
    }
}

/// TFRecord framing and its CRC-32C (Castagnoli), as TensorFlow's `record_writer` does it.
package enum TFRecord {
    package static func frame(_ payload: Data) -> Data {
        var out = Data(capacity: payload.count + 16)
        let length = withUnsafeBytes(of: UInt64(payload.count).littleEndian) { Data($0) }
        out.append(length)
        out.append(contentsOf: withUnsafeBytes(of: masked(crc32c(length)).littleEndian) { Array($0) })
        out.append(payload)
        out.append(contentsOf: withUnsafeBytes(of: masked(crc32c(payload)).littleEndian) { Array($0) })
        return out
    }

    /// TensorFlow's mask: rotate right by 15 bits and add a constant.
    package static func masked(_ crc: UInt32) -> UInt32 { ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8 }

    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    /// CRC-32C of `bytes` (reflected polynomial 0x82F63B78).
    package static func crc32c<D: DataProtocol>(_ bytes: D) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for region in bytes.regions {
            for b in region { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
