import Foundation

/// A one-line progress bar on standard error: fraction, rate, loss, ETA. On a terminal it redraws
/// in place; otherwise (a log file, CI) it prints a line per update, so logs stay readable.
final class ProgressBar {
    private let interactive = isatty(STDERR_FILENO) != 0
    /// Only rank 0 of a job draws.
    private let enabled = Job.isRoot
    private var lastDraw = 0.0
    private var drawn = false
    private let width = 28

    /// Shows `fraction` done, with `detail` (rate, loss) and an ETA from `elapsed` seconds.
    func update(fraction: Double, elapsed: Double, detail: String, force: Bool = false) {
        guard enabled else { return }
        let now = Date().timeIntervalSince1970
        if interactive && !force && now - lastDraw < 0.1 { return }
        lastDraw = now
        let f = min(max(fraction, 0), 1)
        let filled = Int(f * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let eta = f > 0.001 ? formatDuration(elapsed / f - elapsed) : "--:--"
        let line = String(format: "%5.1f%% ", f * 100) + "|\(bar)| \(detail)  elapsed \(formatDuration(elapsed))  ETA \(eta)"
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line).utf8))
            drawn = true
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// Prints a message on its own line without breaking the bar.
    func message(_ text: String) {
        guard enabled else { return }
        if interactive && drawn {
            FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
            drawn = false
        }
        print(text)
        fflush(stdout)
    }

    func finish() {
        guard enabled else { return }
        if interactive && drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }
}

func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "--:--" }
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
}

/// 1234567 → "1.23M".
func formatCount(_ x: Double) -> String {
    if x >= 1e6 { return String(format: "%.2fM", x / 1e6) }
    if x >= 1e3 { return String(format: "%.1fk", x / 1e3) }
    return String(format: "%.0f", x)
}
