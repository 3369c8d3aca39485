/// Text widths estimated without a font engine: Helvetica's advance widths (its AFM file, in
/// thousandths of an em) for ASCII, an em for wide East Asian characters and emoji, and an
/// average letter for the rest, all scaled up a little because the font that finally renders
/// (often DejaVu Sans, about 8% wider) is not known. Overestimating only costs some space;
/// underestimating would let labels overlap.
public enum TextMetrics {
    /// Safety factor on Helvetica's widths.
    static let slack = 1.1

    /// Helvetica widths of U+0020…U+007E.
    private static let ascii: [Int] = [
        278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,  // space … /
        556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,  // 0 … ?
        1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,  // @ … O
        667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,  // P … _
        333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,  // ` … o
        556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,  // p … ~
    ]

    /// Estimated width of `text` at font size `size`, in the same units.
    public static func width(_ text: String, size: Double) -> Double {
        var thousandths = 0
        for u in text.unicodeScalars {
            let v = u.value
            if v >= 0x20 && v <= 0x7E {
                thousandths += ascii[Int(v - 0x20)]
            } else if isWide(v) {
                thousandths += 1000
            } else if (0x0300...0x036F).contains(v) || v == 0x200D || (0xFE00...0xFE0F).contains(v) {
                continue  // combining marks, joiners and variation selectors take no room
            } else {
                thousandths += 600
            }
        }
        return Double(thousandths) / 1000 * size * slack
    }

    /// Height of a line of text at `size` (ascent plus descent).
    public static func lineHeight(size: Double) -> Double { size * 1.2 }

    /// How far the baseline sits below the top of the line box.
    public static func ascent(size: Double) -> Double { size * 0.93 }

    private static func isWide(_ v: UInt32) -> Bool {
        (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
            || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1FAFF).contains(v) || (0x20000...0x3FFFD).contains(v)
    }
}
