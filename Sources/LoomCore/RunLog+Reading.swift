import Foundation

/// A run log read back: its records, in file order.
public struct RunHistory: Sendable {
    public let url: URL
    public let records: [RunRecord]

    /// `(x, y)` of every record holding finite `x` and `y` values (`RunRecord.value`), in file order.
    public func series(_ y: String, against x: String = "step") -> (x: [Double], y: [Double]) {
        var xs: [Double] = [], ys: [Double] = []
        for r in records {
            guard let a = r.value(x), let b = r.value(y) else { continue }
            xs.append(a)
            ys.append(b)
        }
        return (xs, ys)
    }

    /// Whether some record has a finite `key`.
    public func has(_ key: String) -> Bool { records.contains { $0.value(key) != nil } }
}

extension RunLog {
    /// Reads a run log written by `RunLog` (or any file of one JSON object with a numeric `step`
    /// per line).
    ///
    /// Blank lines are skipped; `null` values (non-finite numbers when written), strings and
    /// booleans are left out.
    /// - Throws: `LoomError.io` for a missing or unreadable file; `LoomError.invalidData` naming
    ///   the file (and line) for an empty file, a line that is not a JSON object with a numeric
    ///   `step`, or a log where no record has a `required` value.
    public static func read(from url: URL, required: String = "loss") throws -> RunHistory {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            let missing = !FileManager.default.fileExists(atPath: url.path)
            throw LoomError.io("cannot read run log \(url.path): " + (missing ? "no such file" : error.localizedDescription))
        }
        try TextLimits.checkLines(data, source: url.path, what: "a run log (one JSON object per line)")
        let decoder = JSONDecoder()
        var records: [RunRecord] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            guard (try? JSONSerialization.jsonObject(with: Data(line))) is [String: Any] else {
                let preview = String(decoding: line.prefix(60), as: UTF8.self)
                throw LoomError.invalidData("\(url.path) line \(lineNumber) is not a JSON object: '\(preview)'"
                                                + " (a run log has one {\"step\": …, \"loss\": …} object per line)")
            }
            do {
                records.append(try decoder.decode(RunRecord.self, from: Data(line)))
            } catch {
                throw LoomError.invalidData("\(url.path) line \(lineNumber) has no whole-number \"step\"")
            }
        }
        guard !records.isEmpty else {
            throw LoomError.invalidData("\(url.path) is empty: a run log has one {\"step\": …, \"loss\": …} object per line")
        }
        guard records.contains(where: { $0.value(required) != nil }) else {
            throw LoomError.invalidData("\(url.path): none of its \(records.count) records has a numeric \"step\" "
                                            + "and \"\(required)\"")
        }
        return RunHistory(url: url, records: records)
    }
}
