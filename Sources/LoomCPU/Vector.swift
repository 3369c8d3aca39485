import _LoomCPUKernels

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

    /// `Σ a[i]·b[i]` for `i < n` (AVX2+FMA where the CPU has it).
    @inline(__always) @usableFromInline
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float { loom_dot(a, b, n) }

    /// `y[i] += alpha · x[i]` for `i < n` (AVX2+FMA where the CPU has it).
    @inline(__always) @usableFromInline
    static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        loom_axpy(alpha, x, y, n)
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

// MARK: - Transcendentals, 16 lanes at a time

extension Vector {
    /// `e^x`, Cephes-style: `x = n·ln2 + r`, a degree-6 polynomial for `e^r`, `2^n` built in the
    /// exponent bits. Relative error under 1e-7 on [−87, 88]; inputs are clamped to that range
    /// (so `e^{−1000}` is 0 and `e^{1000}` is a large finite number, not a wrapped exponent).
    @inline(__always) @usableFromInline
    static func exp(_ v: SIMD16<Float>) -> SIMD16<Float> {
        // `replacing(with:where:)` vectorises; pointwiseMin/Max do not (RESULTS.md, "Design measurements").
        let x = v.replacing(with: -87, where: v .< -87).replacing(with: 88, where: v .> 88)
        let magic = SIMD16<Float>(repeating: 12_582_912)  // 1.5·2^23: adding it rounds to an integer
        let t = x * 1.442_695_04 + magic
        let n = t - magic
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p = SIMD16<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        p = p * (r * r) + r + 1
        let k = unsafeBitCast(t, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
        return p * unsafeBitCast((k &+ 127) &<< 23, to: SIMD16<Float>.self)
    }

    @inline(__always) @usableFromInline
    static func sigmoid(_ x: SIMD16<Float>) -> SIMD16<Float> { 1 / (1 + exp(-x)) }
}

extension Vector {
    /// Loads `count` (≤ 16) floats from `p + i`, zero-filling the rest.
    @inline(__always) @usableFromInline
    static func load(_ p: UnsafePointer<Float>, _ i: Int, count: Int) -> SIMD16<Float> {
        if count == 16 { return load(p, i) }
        var v = SIMD16<Float>()
        for j in 0..<count { v[j] = p[i + j] }
        return v
    }

    /// Stores the first `count` (≤ 16) lanes of `v` at `p + i`.
    @inline(__always) @usableFromInline
    static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int, count: Int) {
        if count == 16 { return store(v, p, i) }
        for j in 0..<count { p[i + j] = v[j] }
    }
}

extension Vector {
    /// Natural log of positive lanes (Cephes `logf`): `x = m·2^e` with `m ∈ [√½, √2)`, a degree-8
    /// polynomial in `m − 1`. Relative error about 1e-7; zero gives a large negative number.
    @inline(__always) @usableFromInline
    static func log(_ v: SIMD16<Float>) -> SIMD16<Float> {
        let x = v.replacing(with: .leastNormalMagnitude, where: v .< .leastNormalMagnitude)
        let bits = unsafeBitCast(x, to: SIMD16<Int32>.self)
        var e = SIMD16<Float>((bits &>> 23) & 0xFF) - 126
        var m = unsafeBitCast((bits & 0x007F_FFFF) | 0x3F00_0000, to: SIMD16<Float>.self)  // [0.5, 1)
        let small = m .< 0.707_106_781
        e = e.replacing(with: e - 1, where: small)
        m = m.replacing(with: m + m, where: small) - 1
        let z = m * m
        var y = SIMD16<Float>(repeating: 7.037_683_629_2e-2)
        y = y * m - 1.151_461_031_0e-1
        y = y * m + 1.167_699_874_0e-1
        y = y * m - 1.242_014_084_6e-1
        y = y * m + 1.424_932_278_7e-1
        y = y * m - 1.666_805_766_5e-1
        y = y * m + 2.000_071_476_5e-1
        y = y * m - 2.499_999_399_3e-1
        y = y * m + 3.333_333_117_4e-1
        y = y * m * z
        y = y - 2.121_944_4e-4 * e - 0.5 * z
        return m + y + 0.693_359_375 * e
    }

    /// `log(1 + eˣ)` without overflow.
    @inline(__always) @usableFromInline
    static func softplus(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let a = x.replacing(with: -x, where: x .< 0)
        return x.replacing(with: 0, where: x .< 0) + log(1 + exp(-a))
    }
}
