import Foundation

/// Axis scales and their tick marks.
public enum AxisScale: Sendable, Equatable {
    case linear
    /// Base-10 logarithmic; only positive values can be drawn.
    case log
}

/// Tick positions a person reads easily: 1, 2 or 5 times a power of ten (Heckbert, "Nice numbers
/// for graph labels", Graphics Gems 1990), and the domain widened to the outer ticks.
public struct Ticks: Equatable, Sendable {
    /// The axis range after widening to whole ticks.
    public var lower: Double
    public var upper: Double
    public var values: [Double]
    /// Distance between linear ticks (for formatting); 0 for log ticks.
    public var step: Double

    /// About `target` ticks covering `[lo, hi]`. A degenerate range is widened around its value.
    /// With `widen` false the axis keeps the data's range and only the ticks inside it are kept
    /// (for a step axis that should end where the run ended).
    public static func linear(_ lo: Double, _ hi: Double, target: Int = 6, widen: Bool = true) -> Ticks {
        var lo = lo, hi = hi
        if !(lo.isFinite && hi.isFinite) { lo = 0; hi = 1 }
        if lo > hi { swap(&lo, &hi) }
        if hi - lo < 1e-12 * max(1, abs(lo)) {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad
            hi += pad
        }
        let range = nice(hi - lo, round: false)
        let step = nice(range / Double(max(target - 1, 1)), round: true)
        let first = (lo / step).rounded(.down) * step
        let last = (hi / step).rounded(.up) * step
        var values: [Double] = []
        var v = first
        var k = 0
        while v <= last + step * 0.5 && k < 100 {
            values.append(abs(v) < step * 1e-9 ? 0 : v)
            k += 1
            v = first + Double(k) * step
        }
        if !widen {
            let inside = values.filter { $0 >= lo - step * 1e-9 && $0 <= hi + step * 1e-9 }
            if inside.count >= 2 { return Ticks(lower: lo, upper: hi, values: inside, step: step) }
        }
        return Ticks(lower: first, upper: values.last ?? last, values: values, step: step)
    }

    /// Ticks of a log axis over `[lo, hi]` (positive): every power of ten, plus 2 and 5 times
    /// them when the range spans less than two decades, plus 1…9 within a single decade.
    public static func log(_ lo: Double, _ hi: Double) -> Ticks {
        var lo = lo, hi = hi
        if !(lo > 0 && lo.isFinite) { lo = max(hi / 10, 1e-12) }
        if !(hi > 0 && hi.isFinite) { hi = lo * 10 }
        if lo > hi { swap(&lo, &hi) }
        if hi / lo < 1.0001 { lo /= 1.5; hi *= 1.5 }
        let decades = log10(hi / lo)
        let multipliers: [Double] = decades < 0.8 ? [1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9] : decades < 2 ? [1, 2, 5] : [1]
        var values: [Double] = []
        var e = Foundation.floor(log10(lo)) - 1
        let top = Foundation.ceil(log10(hi)) + 1
        while e <= top {
            for m in multipliers {
                let v = m * pow(10, e)
                if v >= lo * 0.9999 && v <= hi * 1.0001 { values.append(v) }
            }
            e += 1
        }
        // Widen to the neighbouring ticks so lines do not touch the frame.
        let lower = min(lo, values.first ?? lo), upper = max(hi, values.last ?? hi)
        return Ticks(lower: lower, upper: upper, values: values, step: 0)
    }

    /// 1, 2, 5 or 10 times a power of ten near `x`: the nearest when `round`, else the one at or above.
    static func nice(_ x: Double, round: Bool) -> Double {
        guard x > 0, x.isFinite else { return 1 }
        let exponent = Foundation.floor(log10(x))
        let fraction = x / pow(10, exponent)
        let niceFraction: Double
        if round {
            niceFraction = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
        } else {
            niceFraction = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        }
        return niceFraction * pow(10, exponent)
    }

    /// A tick label: `12k`, `1.5M` for large round numbers, else as many decimals as the step needs.
    public func label(_ v: Double) -> String {
        if step == 0 { return Self.compact(v) }
        if abs(v) >= 10_000 && abs(step) >= 1000 { return Self.compact(v) }
        let decimals = max(0, Int(-Foundation.floor(log10(step) + 1e-9)))
        return String(format: "%.\(decimals)f", v)
    }

    /// Short form of a number: 0.001, 0.5, 20, 1k, 2.5k, 1M.
    public static func compact(_ v: Double) -> String {
        let a = abs(v)
        func trim(_ s: String) -> String {
            guard s.contains(".") else { return s }
            var s = s
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
            return s
        }
        if a >= 1e9 { return trim(String(format: "%.2f", v / 1e9)) + "G" }
        if a >= 1e6 { return trim(String(format: "%.2f", v / 1e6)) + "M" }
        if a >= 1e4 { return trim(String(format: "%.1f", v / 1e3)) + "k" }
        if a >= 1 || a == 0 { return trim(String(format: "%.2f", v)) }
        if a >= 1e-3 { return trim(String(format: "%.4f", v)) }
        return String(format: "%.0e", v)
    }
}
