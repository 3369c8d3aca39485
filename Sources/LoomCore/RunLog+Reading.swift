import Foundation

/// A run log read back: the numeric fields of each record, in file order.
public struct RunHistory: Sendable {
    public let url: URL
    /// One dictionary per line; only finite numbers are kept (null, strings and booleans are not).
    public let records: [[String: Double]]

    /// `(x, y)` of every record holding both numeric `x` and `y` fields, in file order.
    public func series(_ y: String, against x: String = "step") -> (x: [Double], y: [Double]) {
        var xs: [Double] = [], ys: [Double] = []
        for r in records {
            guard let a = r[x], let b = r[y] else { continue }
            xs.append(a)
            ys.append(b)
        }
        return (xs, ys)
    }

    /// Whether some record has a numeric `key`.
    public func has(_ key: String) -> Bool { records.contains { $0[key] != nil } }
}

extension RunLog {
    /// Reads a run log written by `RunLog` (or any file of one JSON object per line).
    ///
    /// Blank lines are skipped; `null` values (non-finite numbers when written) are left out.
    /// - Throws: `LoomError.io` for a missing or unreadable file; `LoomError.invalidData` naming
    ///   the file (and line) for an empty file, a line that is not a JSON object, or a log where
    ///   no record has a numeric `step` and `required` field.
    public static func read(from url: URL, required: String = "loss") throws -> RunHistory {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let missing = !FileManager.default.fileExists(atPath: url.path)
            throw LoomError.io("cannot read run log \(url.path): " + (missing ? "no such file" : error.localizedDescription))
        }
        try TextLimits.checkLines(data, source: url.path, what: "a run log (one JSON object per line)")
        var records: [[String: Double]] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let trimmed = line.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            if trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let object = try? JSONSerialization.jsonObject(with: Data(line), options: [])
            guard let fields = object as? [String: Any] else {
                let preview = String(decoding: line.prefix(60), as: UTF8.self)
                throw LoomError.invalidData("\(url.path) line \(lineNumber) is not a JSON object: '\(preview)'"
                                                + " (a run log has one {\"step\": …, \"loss\": …} object per line)")
            }
            var numbers: [String: Double] = [:]
            for (key, value) in fields {
                if let number = Self.number(value), number.isFinite { numbers[key] = number }
            }
            records.append(numbers)
        }
        guard !records.isEmpty else {
            throw LoomError.invalidData("\(url.path) is empty: a run log has one {\"step\": …, \"loss\": …} object per line")
        }
        guard records.contains(where: { $0["step"] != nil && $0[required] != nil }) else {
            throw LoomError.invalidData("\(url.path): none of its \(records.count) records has a numeric \"step\" "
                                            + "and \"\(required)\"")
        }
        return RunHistory(url: url, records: records)
    }

    /// A JSON number as Double; booleans (which JSONSerialization also hands out as NSNumber, of
    /// type "c") are not numbers here.
    private static func number(_ value: Any) -> Double? {
        guard let n = value as? NSNumber else { return nil }
        if String(cString: n.objCType) == "c" { return nil }
        return n.doubleValue
    }
}
