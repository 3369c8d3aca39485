/// SIMD inner loops over a row (the embedding or hidden dimension). Float reductions only
/// vectorise when we reassociate them ourselves: four 16-wide accumulators, then a horizontal sum.
@usableFromInline
enum Vector {
    @inline(__always) @usableFromInline
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always) @usableFromInline
    static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    /// `Σ a[i]·b[i]` for `i < n`.
    @inline(__always) @usableFromInline
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= n {
            s0 += load(a, i) * load(b, i)
            s1 += load(a, i + 16) * load(b, i + 16)
            i += 32
        }
        if i + 16 <= n { s0 += load(a, i) * load(b, i); i += 16 }
        var s = (s0 + s1).sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// `y[i] += alpha · x[i]` for `i < n`.
    @inline(__always) @usableFromInline
    static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let a = SIMD16<Float>(repeating: alpha)
        var i = 0
        while i + 16 <= n {
            store(load(y, i) + a * load(x, i), y, i)
            i += 16
        }
        while i < n { y[i] += alpha * x[i]; i += 1 }
    }

    /// `y[i] = alpha · x[i]` for `i < n`.
    @inline(__always) @usableFromInline
    static func scaled(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = alpha * x[i] }
    }

    /// `Σ x[i]²` accumulated in Double.
    @inline(__always) @usableFromInline
    static func sumOfSquares(_ x: UnsafePointer<Float>, _ range: Range<Int>) -> Double {
        var total = 0.0
        var i = range.lowerBound
        while i < range.upperBound {
            // Blocks of 4096 in float SIMD, totals in double: exact enough at any length.
            let end = min(i + 4096, range.upperBound)
            var s = SIMD16<Float>()
            while i + 16 <= end { let v = load(x, i); s += v * v; i += 16 }
            var t = Double(s.sum())
            while i < end { t += Double(x[i]) * Double(x[i]); i += 1 }
            total += t
        }
        return total
    }

    /// `Σ x[i]` accumulated in Double.
    @inline(__always) @usableFromInline
    static func sum(_ x: UnsafePointer<Float>, _ range: Range<Int>) -> Double {
        var total = 0.0
        var i = range.lowerBound
        while i < range.upperBound {
            let end = min(i + 4096, range.upperBound)
            var s = SIMD16<Float>()
            while i + 16 <= end { s += load(x, i); i += 16 }
            var t = Double(s.sum())
            while i < end { t += Double(x[i]); i += 1 }
            total += t
        }
        return total
    }
}
