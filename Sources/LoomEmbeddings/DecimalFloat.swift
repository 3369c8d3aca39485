import Foundation

/// Decimal text to `Float`, correctly rounded, as `strtof` — but several times faster for the
/// short decimals vector files hold (`-0.0123456`, `1.5e-05`).
///
/// Fast path (Clinger): a decimal with at most 19 significant digits `m` and a power of ten `10^e`
/// with `m ≤ 2⁵³` and `|e| ≤ 22` is `m · 10^e` or `m / 10^−e` in one correctly rounded `Double`
/// operation (both operands are exact doubles). Rounding that double to `Float` gives the
/// correctly rounded float unless the double sits exactly on a midpoint between two floats, the
/// one case where rounding twice can differ from rounding once. Midpoints, subnormals, overflow,
/// long mantissas, large exponents, `nan`, `inf` and anything else unusual go to `strtof`.
enum DecimalFloat {
    private static let powers: [Double] = (0...22).map { pow(10, Double($0)) }

    /// The float spelled by the `count` bytes at `p` (the whole token must be the number), or nil
    /// when it is not a number. Infinities and NaN are returned as such (for `strtof`'s spellings).
    static func parse(_ p: UnsafePointer<UInt8>, count n: Int, scratch: inout [CChar]) -> Float? {
        if let v = fast(p, count: n) { return v }
        return slow(p, count: n, scratch: &scratch)
    }

    @inline(__always)
    static func fast(_ p: UnsafePointer<UInt8>, count n: Int) -> Float? {
        var i = 0
        var negative = false
        if i < n && (p[i] == 0x2D || p[i] == 0x2B) { negative = p[i] == 0x2D; i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        var sawDigit = false
        while i < n, p[i] &- 0x30 < 10 {
            sawDigit = true
            let digit = UInt64(p[i] &- 0x30)
            i += 1
            if mantissa == 0 && digit == 0 { continue }
            guard digits < 19 else { return nil }
            mantissa = mantissa * 10 + digit
            digits += 1
        }
        if i < n && p[i] == 0x2E {
            i += 1
            while i < n, p[i] &- 0x30 < 10 {
                sawDigit = true
                let digit = UInt64(p[i] &- 0x30)
                i += 1
                exponent -= 1
                if mantissa == 0 && digit == 0 { continue }
                guard digits < 19 else { return nil }
                mantissa = mantissa * 10 + digit
                digits += 1
            }
        }
        guard sawDigit else { return nil }
        if i < n && (p[i] == 0x65 || p[i] == 0x45) {
            i += 1
            var negativeExponent = false
            if i < n && (p[i] == 0x2D || p[i] == 0x2B) { negativeExponent = p[i] == 0x2D; i += 1 }
            var e = 0
            var exponentDigits = 0
            while i < n, p[i] &- 0x30 < 10 {
                if e < 100_000 { e = e * 10 + Int(p[i] &- 0x30) }
                i += 1
                exponentDigits += 1
            }
            guard exponentDigits > 0 else { return nil }
            exponent += negativeExponent ? -e : e
        }
        guard i == n else { return nil }
        if mantissa == 0 { return negative ? -0.0 : 0.0 }
        guard mantissa <= 1 << 53, exponent >= -22, exponent <= 22 else { return nil }
        let d = exponent < 0 ? Double(mantissa) / powers[-exponent] : Double(mantissa) * powers[exponent]
        // A normal float keeps the top 23 of the double's 52 fraction bits; the double is a float
        // midpoint when the 29 dropped bits are exactly 1000…0.
        guard d.bitPattern & 0x1FFF_FFFF != 0x1000_0000, d >= Double(Float.leastNormalMagnitude) else { return nil }
        let f = Float(d)
        guard f.isFinite else { return nil }
        return negative ? -f : f
    }

    /// `strtof` on a NUL-terminated copy; nil unless it consumes the whole token.
    static func slow(_ p: UnsafePointer<UInt8>, count n: Int, scratch: inout [CChar]) -> Float? {
        guard n > 0 else { return nil }
        if scratch.count < n + 1 { scratch = [CChar](repeating: 0, count: n + 64) }
        return scratch.withUnsafeMutableBufferPointer { sb -> Float? in
            let s = sb.baseAddress!
            UnsafeMutableRawPointer(s).copyMemory(from: p, byteCount: n)
            s[n] = 0
            // strtof skips leading whitespace; a token never has any, so a leading one is garbage.
            guard !Bytes.isWhitespace(p[0]) else { return nil }
            var stop: UnsafeMutablePointer<CChar>? = nil
            let v = strtof(s, &stop)
            guard let stop, stop - s == n else { return nil }
            return v
        }
    }
}
