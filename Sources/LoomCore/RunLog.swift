import Foundation

/// A training run's log: one JSON object per line (`step`, `loss`, `perplexity`, `words_per_sec`,
/// `lr`, …), appended and flushed as it goes so a crashed run still leaves its history. `loom plot`
/// draws these files.
public final class RunLog {
    public let url: URL
    private let handle: FileHandle

    /// Creates (or truncates) `url`, or appends when `append` (a resumed run).
    public init(_ url: URL, append: Bool = false) throws {
        self.url = url
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw LoomError.io("cannot create folder for \(url.path): \(error.localizedDescription)")
        }
        if !append || !fm.fileExists(atPath: url.path) {
            guard fm.createFile(atPath: url.path, contents: nil) else { throw LoomError.io("cannot write \(url.path)") }
        }
        do {
            handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
        } catch {
            throw LoomError.io("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    deinit { try? handle.close() }

    /// Appends one record. Values must be numbers, strings or booleans; non-finite numbers become null.
    public func write(_ record: [String: Any]) throws {
        var fields: [String] = []
        for key in record.keys.sorted() {
            let value: String
            switch record[key] {
            case let v as Double: value = v.isFinite ? "\(v)" : "null"
            case let v as Float: value = v.isFinite ? "\(v)" : "null"
            case let v as Int: value = "\(v)"
            case let v as Bool: value = v ? "true" : "false"
            case let v as String: value = Self.quote(v)
            default: value = "null"
            }
            fields.append("\(Self.quote(key)):\(value)")
        }
        do {
            try handle.write(contentsOf: Data(("{" + fields.joined(separator: ",") + "}\n").utf8))
        } catch {
            throw LoomError.io("writing \(url.path) failed: \(error.localizedDescription)")
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
