import Foundation

/// Philox4x32-10, the counter-based generator of Salmon et al. (Random123, SC'11).
///
/// A pure function of (counter, key): element `i` of a dropout mask depends only on the seed and
/// `i`, so the CPU backend and every OpenCL kernel (`Kernels/common.cl`, `philox4x32_10`) draw the
/// same numbers in any order and with any number of threads.
public enum Philox {
    @usableFromInline static let m0: UInt32 = 0xD251_1F53
    @usableFromInline static let m1: UInt32 = 0xCD9E_8D57
    @usableFromInline static let w0: UInt32 = 0x9E37_79B9
    @usableFromInline static let w1: UInt32 = 0xBB67_AE85

    /// Ten rounds of Philox on a 128-bit counter with a 64-bit key.
    @inlinable
    public static func philox4x32_10(_ counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        var c = counter
        var k = key
        for round in 0..<10 {
            if round > 0 { k.x &+= w0; k.y &+= w1 }
            let p0 = UInt64(m0) &* UInt64(c.x)
            let p1 = UInt64(m1) &* UInt64(c.z)
            c = SIMD4(UInt32(truncatingIfNeeded: p1 >> 32) ^ c.y ^ k.x,
                      UInt32(truncatingIfNeeded: p1),
                      UInt32(truncatingIfNeeded: p0 >> 32) ^ c.w ^ k.y,
                      UInt32(truncatingIfNeeded: p0))
        }
        return c
    }

    /// The 32-bit word for element `index` of stream (`seed`, `stream`): block `index / 4`,
    /// word `index % 4`. Matches `philox_word` in `Kernels/common.cl`.
    @inlinable
    public static func word(index: UInt64, seed: UInt64, stream: UInt64) -> UInt32 {
        let block = index >> 2
        let counter = SIMD4<UInt32>(UInt32(truncatingIfNeeded: block), UInt32(truncatingIfNeeded: block >> 32),
                                    UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32))
        let key = SIMD2<UInt32>(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
        return philox4x32_10(counter, key: key)[Int(index & 3)]
    }

    /// The integer threshold below which a 24-bit draw `word >> 8` counts as "keep".
    /// Computed once on the host so every backend compares the same integers.
    @inlinable
    public static func keepThreshold(_ keepProbability: Float) -> UInt32 {
        UInt32((Double(keepProbability) * 16_777_216.0).rounded(.down).clamped(to: 0...16_777_216))
    }
}

extension Comparable {
    @inlinable
    func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}

/// A small seeded generator for host-side work (initialisation, sampling, shuffling):
/// SplitMix64 seeding xoshiro256**, reproducible across platforms.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var sm = seed
        func next() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (next(), next(), next(), next())
    }

    /// Restores a generator from a saved `state` (checkpoints).
    public init(state: (UInt64, UInt64, UInt64, UInt64)) { self.state = state }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    @inlinable
    func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 24 random bits.
    @inlinable
    public mutating func nextFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform in [0, 1) with 53 random bits.
    @inlinable
    public mutating func nextDouble() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Standard normal (Box–Muller).
    public mutating func nextGaussian() -> Double {
        var u = nextDouble()
        while u <= .leastNonzeroMagnitude { u = nextDouble() }
        let v = nextDouble()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}
